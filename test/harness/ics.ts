/** A small RFC 5545 reader for assertions: unfolds lines, splits params, unescapes text. */
export interface IcsProperty {
  name: string;
  params: Record<string, string>;
  value: string;
}

export function parseIcs(text: string): { events: Array<{ props: IcsProperty[]; get(name: string): IcsProperty | undefined; all(name: string): IcsProperty[] }>; lines: IcsProperty[] } {
  const unfolded = text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/).filter(Boolean);
  const lines = unfolded.map(parseLine);
  const events: Array<IcsProperty[]> = [];
  let current: IcsProperty[] | undefined;
  for (const p of lines) {
    if (p.name === 'BEGIN' && p.value === 'VEVENT') current = [];
    else if (p.name === 'END' && p.value === 'VEVENT') {
      if (current) events.push(current);
      current = undefined;
    } else current?.push(p);
  }
  return {
    lines,
    events: events.map((props) => ({
      props,
      get: (n: string) => props.find((p) => p.name === n),
      all: (n: string) => props.filter((p) => p.name === n),
    })),
  };
}

function parseLine(line: string): IcsProperty {
  // name *(;param=value) : value — params may be quoted and contain ':' or ';'.
  let i = 0;
  const readUntil = (stops: string) => {
    let out = '';
    let quoted = false;
    while (i < line.length) {
      const c = line[i]!;
      if (c === '"') quoted = !quoted;
      else if (!quoted && stops.includes(c)) break;
      else out += c;
      i++;
    }
    return out;
  };
  const name = readUntil(';:').toUpperCase();
  const params: Record<string, string> = {};
  while (line[i] === ';') {
    i++;
    const key = readUntil('=;:').toUpperCase();
    if (line[i] === '=') i++;
    params[key] = readUntil(';:');
  }
  i++;
  return { name, params, value: unescapeText(line.slice(i)) };
}

const unescapeText = (v: string) => v.replace(/\\([nN,;\\])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
