// Building DOM without HTML strings: the pages run under a Content-Security-
// Policy that refuses inline scripts and styles and, through Trusted Types,
// every sink that parses a string as HTML. Text goes in as text, attributes
// as attributes; nothing here can inject markup.

let lastId = 0;

/** A fresh id for a label's `for`, an `aria-labelledby` and the like. */
export function newId(prefix) {
  lastId += 1;
  return `${prefix}-${lastId}`;
}

function apply(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
}

/** An HTML element: `h('button', {type: 'button', onclick}, 'Refresh')`. */
export function h(tag, attrs, ...children) {
  return apply(document.createElement(tag), attrs, children);
}

/** An SVG element, the same way. */
export function s(tag, attrs, ...children) {
  return apply(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

/** Replaces every child of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}
