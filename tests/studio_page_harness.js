// Runs the studio's page script (studio/static/studio.js) in Node against a live studio, with a small
// stand-in for the browser's DOM: enough for the page to start, build its controls from /api/vocab,
// draw and sweep. Used by tests/test_studio_other_tags.py where no headless Chromium is installed.
//     node tests/studio_page_harness.js STUDIO_JS PORT TAG
// Starts the page, turns the other tag TAG on, draws, clicks TAG's sweep button; prints one JSON object.
"use strict";
const fs = require("fs");
const vm = require("vm");

const [scriptPath, port, tag] = process.argv.slice(2);
const created = [];
const byId = {};
const requests = [];

class Element {
  constructor(tagName) {
    this.tagName = tagName; this.id = ""; this.className = ""; this.value = ""; this.checked = false;
    this.disabled = false; this.textContent = ""; this.title = ""; this.dataset = {}; this.children = [];
    this.listeners = {}; this.selected = false; this.attributes = {};
    this.classList = { add() {}, remove() {} };
    created.push(this);
  }
  append(...items) { this.children.push(...items); }
  prepend(...items) { this.children.unshift(...items); }
  replaceChildren(...items) { this.children = [...items]; }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  fire(type) { return Promise.all((this.listeners[type] || []).map((fn) => fn({ currentTarget: this }))); }
  querySelector(selector) {
    this.parts = this.parts || {};
    return (this.parts[selector] = this.parts[selector] || new Element(selector));
  }
  cloneNode() { return new Element(this.tagName); }
  setAttribute(name, value) { this.attributes[name] = value; }
  removeAttribute(name) { delete this.attributes[name]; }
  remove() {}
  click() {}
  get content() { return { firstElementChild: new Element("figure") }; }
}

global.document = {
  body: new Element("body"),
  getElementById: (id) => id.startsWith("pane-") && id !== "pane-template" && !byId[id] ? null
    : (byId[id] = byId[id] || Object.assign(new Element("div"), { id })),
  createElement: (name) => new Element(name),
  querySelectorAll: (selector) => created.filter((e) => "." + e.className === selector),
};
global.location = { search: "" };
global.history = { replaceState() {} };
const realFetch = global.fetch;
global.fetch = (path, options) => {
  requests.push(path);
  return realFetch(`http://127.0.0.1:${port}${path}`, options);
};

async function until(condition, what) {
  for (let i = 0; i < 600; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}; status: ${byId.status && byId.status.textContent}`);
}

// the page's inputs start at the values index.html gives them (the zoom select at its selected 2)
const page = fs.readFileSync(scriptPath.replace(/studio\.js$/, "index.html"), "utf8");
for (const [, id, value] of page.matchAll(/<input id="([^"]+)"[^>]*value="([^"]*)"/g)) {
  document.getElementById(id).value = value;
}
document.getElementById("scale").value = "2";

(async () => {
  vm.runInThisContext(fs.readFileSync(scriptPath, "utf8"), { filename: scriptPath });
  await until(() => document.body.dataset.ready === "1", "the page to start");
  const boxes = created.filter((e) => e.className === "other-tag");
  const buttons = created.filter((e) => e.className === "sweep-tag");
  const box = boxes.find((b) => b.value === tag);
  box.checked = true;
  await box.fire("change");
  const tags = byId.tags.value;
  const drawn = Number(document.body.dataset.generated || 0);
  await byId.generate.fire("click");
  await until(() => Number(document.body.dataset.generated || 0) > drawn, "the grid");
  const grid = vm.runInThisContext("state.results[0]");
  await buttons.find((b) => b.dataset.tag === tag).fire("click");
  await until(() => byId.sweeps.children.length > 0, "the sweep");
  const sweep = byId.sweeps.children[0];
  console.log(JSON.stringify({
    boxes: boxes.map((b) => b.value), buttons: buttons.map((b) => b.dataset.tag), tags,
    cells: grid.cells, gridRequest: requests.filter((r) => r.startsWith("/api/grid?")).pop(),
    sweepRequest: requests.filter((r) => r.startsWith("/api/sweep?")).pop(),
    sweepCaption: sweep.children[0] && sweep.children[0].textContent, sweepError: sweep.className === "error"
      ? sweep.textContent : null,
  }));
})().catch((err) => { console.error(err.stack || String(err)); process.exit(1); });
