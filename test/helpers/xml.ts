/**
 * XML read back with saxes, a strict XML 1.0 parser: a file that is not well-formed (an
 * unescaped `<` or `&`, a control character, a stray `]]>` in text) throws here, as it would in
 * the CI tools that read JUnit reports.
 */
import { SaxesParser } from 'saxes';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (its children's not included). */
  text: string;
}

export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser();
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= error;
  });
  parser.on('opentag', (tag) => {
    const element: XmlElement = { name: tag.name, attributes: { ...(tag.attributes as Record<string, string>) }, children: [], text: '' };
    stack.at(-1)?.children.push(element);
    root ??= element;
    stack.push(element);
  });
  parser.on('text', (data) => {
    const current = stack.at(-1);
    if (current) current.text += data;
  });
  parser.on('cdata', (data) => {
    const current = stack.at(-1);
    if (current) current.text += data;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.write(text).close();
  if (failure) throw failure;
  if (!root) throw new Error('no root element');
  return root;
}

/** The children named `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

/** A JUnit report's one testsuite and its testcases, as a reader of the report sees them. */
export function junitSuite(text: string): { root: XmlElement; suite: XmlElement; cases: XmlElement[]; properties: Record<string, string> } {
  const root = parseXml(text);
  if (root.name !== 'testsuites') throw new Error(`the root element is <${root.name}>, not <testsuites>`);
  const suites = childrenNamed(root, 'testsuite');
  if (suites.length !== 1) throw new Error(`${suites.length} testsuites, expected one`);
  const suite = suites[0] as XmlElement;
  const properties = Object.fromEntries(childrenNamed(suite, 'properties').flatMap((element) => childrenNamed(element, 'property')).map((property) => [property.attributes.name, property.attributes.value]));
  return { root, suite, cases: childrenNamed(suite, 'testcase'), properties };
}

/** The <failure> of a testcase, when it has one. */
export function failureOf(testCase: XmlElement): XmlElement | undefined {
  return childrenNamed(testCase, 'failure')[0];
}
