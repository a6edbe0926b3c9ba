/**
 * Just enough XML for the iCloud simulator: parses the multistatus bodies Radicale writes
 * (prefixed namespaces, no DTD) into a namespace-resolved tree, and writes a tree back the
 * way iCloud does — no prefixes, a default namespace declared on the root, on every
 * `response`, on every property element and wherever the namespace changes
 * (`<response xmlns="DAV:">`, `<calendar-home-set xmlns="urn:ietf:params:xml:ns:caldav"><href xmlns="DAV:">…`).
 */

export const DAV = 'DAV:';
export const CALDAV = 'urn:ietf:params:xml:ns:caldav';
export const CS = 'http://calendarserver.org/ns/';
export const ICAL = 'http://apple.com/ns/ical/';

export interface XmlElement {
  ns: string;
  name: string;
  /** Attributes other than namespace declarations (unprefixed names only survive). */
  attrs: Record<string, string>;
  children: XmlNode[];
}
/** Text is kept decoded; `cdata` marks text to be written as a CDATA section. */
export type XmlText = { text: string; cdata?: boolean };
export type XmlNode = XmlElement | XmlText;

export const isElement = (n: XmlNode): n is XmlElement => 'name' in n;

export function el(ns: string, name: string, children: XmlNode[] = [], attrs: Record<string, string> = {}): XmlElement {
  return { ns, name, attrs, children };
}
export const text = (t: string): XmlText => ({ text: t });

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_m, e: string) => {
    const k = e.toLowerCase();
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'amp') return '&';
    if (k === 'quot') return '"';
    if (k === 'apos') return "'";
    return String.fromCodePoint(k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10));
  });
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, '&quot;');

/** Parses one XML document (throws on anything it does not understand). */
export function parseXml(input: string): XmlElement {
  const tokens = /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)([^\s>/]+)((?:\s+[^\s=>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
  const stack: Array<{ el: XmlElement; scope: Map<string, string> }> = [];
  let root: XmlElement | undefined;
  let m: RegExpExecArray | null;
  while ((m = tokens.exec(input))) {
    const [, cdata, close, qname, attrText, selfClose, chars] = m;
    const top = stack[stack.length - 1];
    if (cdata !== undefined) {
      top?.el.children.push({ text: cdata, cdata: true });
      continue;
    }
    if (chars !== undefined) {
      if (top) top.el.children.push({ text: decodeEntities(chars) });
      continue;
    }
    if (qname === undefined) continue; // declaration, comment, doctype
    if (close) {
      stack.pop();
      continue;
    }
    const scope = new Map(top?.scope ?? []);
    const attrs: Record<string, string> = {};
    for (const a of (attrText ?? '').matchAll(/([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      const value = decodeEntities(a[2] ?? a[3] ?? '');
      if (a[1] === 'xmlns') scope.set('', value);
      else if (a[1]!.startsWith('xmlns:')) scope.set(a[1]!.slice(6), value);
      else attrs[a[1]!.includes(':') ? a[1]!.split(':')[1]! : a[1]!] = value;
    }
    const colon = qname.indexOf(':');
    const prefix = colon === -1 ? '' : qname.slice(0, colon);
    const element: XmlElement = { ns: scope.get(prefix) ?? '', name: colon === -1 ? qname : qname.slice(colon + 1), attrs, children: [] };
    if (top) top.el.children.push(element);
    else root ??= element;
    if (!selfClose) stack.push({ el: element, scope });
  }
  if (!root) throw new Error('not XML');
  return root;
}

/** Writes `root` the iCloud way (see the module comment). */
export function serializeICloud(root: XmlElement): string {
  const write = (e: XmlElement, parentNs: string | undefined, parentName: string | undefined): string => {
    const declare = parentNs === undefined || e.ns !== parentNs || e.name === 'response' || parentName === 'prop';
    const attrs = Object.entries(e.attrs)
      .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
      .join('');
    const open = `<${e.name}${declare ? ` xmlns="${escapeAttr(e.ns)}"` : ''}${attrs}`;
    if (!e.children.length) return `${open}/>`;
    const inner = e.children
      .map((c) => (isElement(c) ? write(c, e.ns, e.name) : c.cdata ? `<![CDATA[${c.text}]]>` : escapeText(c.text)))
      .join('');
    return `${open}>${inner}</${e.name}>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${write(root, undefined, undefined)}`;
}

export const children = (e: XmlElement, ns?: string, name?: string): XmlElement[] =>
  e.children.filter(isElement).filter((c) => (ns === undefined || c.ns === ns) && (name === undefined || c.name === name));
export const child = (e: XmlElement, ns: string, name: string): XmlElement | undefined => children(e, ns, name)[0];
export const textOf = (e: XmlElement | undefined): string =>
  e ? e.children.map((c) => (isElement(c) ? textOf(c) : c.text)).join('') : '';

/** Every element in the tree, depth first, with its parent. */
export function* walk(e: XmlElement, parent?: XmlElement): Generator<{ el: XmlElement; parent: XmlElement | undefined }> {
  yield { el: e, parent };
  for (const c of children(e)) yield* walk(c, e);
}
