/**
 * A small element builder: the views render plain DOM, so every label a test or a user reads
 * is in the page as text.
 */

type Child = Node | string | null | undefined | false;

/** `<tag class=... ...attributes>children</tag>`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: { [name: string]: string } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      element.append(child);
    }
  }
  return element;
}

/** `1234` as `1,234` (rows in the user's locale). */
export function count(value: number): string {
  return value.toLocaleString();
}
