// Syntax highlighting for the vdfs query language in %vdfs lines and %%vdfs cells.
// A CodeMirror view plugin marks keywords, sources, strings, :parameters, #tags, numbers
// and comments of the DSL; the rest of the cell keeps JupyterLab's Python highlighting.
import { IEditorExtensionRegistry, EditorExtensionRegistry } from '@jupyterlab/codemirror';
import { Decoration, EditorView, ViewPlugin } from '@codemirror/view';
import { RangeSetBuilder } from '@codemirror/state';

// BEGIN words generated from grammar/vdfs.lark by `python -m kernel_ext.highlight_words`
const SOURCES = new Set(["collections", "content", "devices", "entries", "files", "folders", "jobs", "locations", "models", "search", "tags"]);
const KEYWORDS = new Set(["ago", "and", "as", "asc", "by", "day", "days", "desc", "device", "duplicates", "false", "group", "has", "hour", "hours", "in", "is", "kind", "limit", "matches", "minute", "minutes", "month", "months", "not", "now", "null", "of", "offset", "on", "or", "order", "second", "seconds", "select", "tagged", "this", "today", "true", "week", "weeks", "where", "year", "years", "yesterday"]);
// END generated words
// sub-commands whose arguments are not DSL (explain, jobs and tags are followed by a query)
const COMMANDS = new Set(['open', 'close', 'index', 'run', 'preview', 'view', 'install', 'help']);
const TOKEN = /("(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?)|(:[A-Za-z_]\w*)|(--.*$)|(#[\w:\-]+)|(\d{4}-\d\d(?:-\d\d)?|\d+(?:\.\d+)?\s*(?:kib|mib|gib|tib|kb|mb|gb|tb|b)\b|\d+(?:\.\d+)?)|([A-Za-z_]\w*)/gi;

const marks = {};
for (const name of ['kw', 'src', 'str', 'param', 'comment', 'tag', 'num']) {
  marks[name] = Decoration.mark({ class: `vdfs-tok vdfs-${name}` });
}

function dslRanges(doc) {
  // [lineNumber, fromColumn] where the DSL text starts
  const first = doc.line(1).text;
  const out = [];
  if (/^\s*%%vdfs\b/.test(first)) {
    for (let n = 2; n <= doc.lines; n++) out.push([n, 0]);
    return out;
  }
  for (let n = 1; n <= doc.lines; n++) {
    const text = doc.line(n).text;
    const m = /(^|[^%])%vdfs\b/.exec(text);
    if (!m) continue;
    const col = m.index + m[1].length + 5;
    const word = (/^\s*(\w+)/.exec(text.slice(col)) || [])[1];
    if (!COMMANDS.has(word)) out.push([n, col]);   // `%vdfs run …` is not a query
  }
  return out;
}

function decorate(view) {
  const builder = new RangeSetBuilder();
  const doc = view.state.doc;
  for (const [n, col] of dslRanges(doc)) {
    const line = doc.line(n);
    const text = line.text.slice(col);
    TOKEN.lastIndex = 0;
    let m;
    while ((m = TOKEN.exec(text)) !== null) {
      if (m[0].length === 0) { TOKEN.lastIndex++; continue; }
      let kind = null;
      if (m[1]) kind = 'str';
      else if (m[2]) kind = 'param';
      else if (m[3]) kind = 'comment';
      else if (m[4]) kind = 'tag';
      else if (m[5]) kind = 'num';
      else if (m[6]) {
        const w = m[6].toLowerCase();
        kind = SOURCES.has(w) ? 'src' : KEYWORDS.has(w) ? 'kw' : null;
      }
      if (kind) {
        const from = line.from + col + m.index;
        builder.add(from, from + m[0].length, marks[kind]);
      }
    }
  }
  return builder.finish();
}

const highlighter = ViewPlugin.fromClass(class {
  constructor(view) { this.decorations = decorate(view); }
  update(u) { if (u.docChanged || u.viewportChanged) this.decorations = decorate(u.view); }
}, { decorations: v => v.decorations });

const theme = EditorView.baseTheme({
  '.vdfs-kw': { color: 'var(--jp-mirror-editor-keyword-color)', fontWeight: 'bold' },
  '.vdfs-src': { color: 'var(--jp-mirror-editor-def-color)', fontWeight: 'bold' },
  '.vdfs-str': { color: 'var(--jp-mirror-editor-string-color)' },
  '.vdfs-param': { color: 'var(--jp-mirror-editor-variable-2-color)', fontStyle: 'italic' },
  '.vdfs-comment': { color: 'var(--jp-mirror-editor-comment-color)', fontStyle: 'italic' },
  '.vdfs-tag': { color: 'var(--jp-mirror-editor-attribute-color)' },
  '.vdfs-num': { color: 'var(--jp-mirror-editor-number-color)' },
});

const plugin = {
  id: 'vdfs-highlight:plugin',
  description: 'Highlights the vdfs query language in %vdfs lines and %%vdfs cells.',
  autoStart: true,
  requires: [IEditorExtensionRegistry],
  activate: (app, registry) => {
    registry.addExtension({
      name: 'vdfs-highlight',
      factory: () => EditorExtensionRegistry.createImmutableExtension([theme, highlighter]),
    });
  },
};

export default plugin;
