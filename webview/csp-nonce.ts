// Imported first by main.ts, before any component: Lit (under vscode-elements) styles its
// components with constructable stylesheets (adoptedStyleSheets), which a page's CSP does not
// govern. Where those are missing it falls back to <style> elements, which the CSP admits only
// with the page's nonce: Lit reads it from globalThis.litNonce. The nonce is the one on our
// own <script> tag.

const script = document.currentScript;
if (script instanceof HTMLScriptElement && script.nonce) (globalThis as { litNonce?: string }).litNonce = script.nonce;

export {};
