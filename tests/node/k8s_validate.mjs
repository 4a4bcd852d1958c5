// Validates Kubernetes manifests against the official OpenAPI schemas
// (kubernetes-models, generated from them) and prints, as one JSON
// array on stdout, each document of each file: {file, doc, apiVersion,
// kind, name, errors: [...], object}. tests/e2e/test_packaging.py runs it
// and checks the rest on the objects, so Python needs no YAML parser.
//   node tests/node/k8s_validate.mjs FILE.yaml... (or - for stdin)
// Exit status: 0 when it could read every file (errors are in the
// output), 2 when it could not.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// A schema's validator cannot see a field it does not know: the OpenAPI
// schemas allow extra properties. The API server (kubectl --validate=
// strict) refuses them, so unknown fields are looked up here in the
// models' declarations: each model's .d.ts lists its properties.
// The packages' "exports" hide their .d.ts files from require.resolve,
// so they are found by path under this folder's node_modules.
const NODE_MODULES = new URL("./node_modules/", import.meta.url).pathname;

function modelPath(apiVersion, kind) {
    const [group, version] = apiVersion.includes("/")
        ? apiVersion.split("/") : ["", apiVersion];
    return group ? `kubernetes-models/${group}/${version}/${kind}`
        : `kubernetes-models/${version}/${kind}`;
}

async function loadModel(apiVersion, kind) {
    try {
        const mod = await import(modelPath(apiVersion, kind));
        return mod[kind] || null;
    } catch {
        return null;
    }
}

// Declarations: file path -> {imports: {Alias: file}, props: {name: type}}
const declCache = new Map();

function readDecl(file) {
    if (declCache.has(file)) return declCache.get(file);
    const text = readFileSync(file, "utf8");
    const imports = {};
    const re = /import \{ ([A-Za-z0-9_]+) \} from "([^"]+)";/g;
    for (let m; (m = re.exec(text));) {
        const rel = m[2].replace(/\.js$/, "") + ".d.ts";
        const target = rel.startsWith(".")
            ? new URL(rel, "file://" + file).pathname : NODE_MODULES + rel;
        imports[m[1]] = target;
    }
    // The interface: its property lines up to the closing brace.
    const start = text.indexOf("export interface ");
    const body = start < 0 ? ""
        : text.slice(start, text.indexOf("\n}", start));
    const props = {};
    const pre = /^ {4}"([^"]+)"\??: (.*?);?$/gm;  // maps span lines
    for (let m; (m = pre.exec(body));) props[m[1]] = m[2];
    const d = { imports, props, open: start < 0 };
    declCache.set(file, d);
    return d;
}

// Unknown fields of obj against the declaration file, as "a.b.c" paths.
function unknownFields(obj, file, path, out) {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return;
    const d = readDecl(file);
    if (d.open) return;
    for (const [k, v] of Object.entries(obj)) {
        const type = d.props[k];
        const here = path ? `${path}.${k}` : k;
        if (type === undefined) {
            out.push(here);
            continue;
        }
        const ref = /^(?:Array<)?([A-Za-z0-9_]+)>?$/.exec(type);
        const target = ref && d.imports[ref[1]];
        if (!target) continue;          // a scalar, map or union: no walk
        for (const [i, x] of (Array.isArray(v) ? v.entries() : [[null, v]]))
            unknownFields(x, target, i === null ? here : `${here}[${i}]`,
                          out);
    }
}

async function check(file, text) {
    const results = [];
    const docs = parseAllDocuments(text, { prettyErrors: true });
    let n = 0;
    for (const doc of docs) {
        n += 1;
        const errors = doc.errors.map((e) => e.message);
        const obj = errors.length ? null : doc.toJS();
        if (obj === null && !errors.length) continue;  // an empty document
        const r = { file, doc: n, apiVersion: obj?.apiVersion,
                    kind: obj?.kind, name: obj?.metadata?.name, errors,
                    object: obj };
        results.push(r);
        if (errors.length) continue;
        const Model = await loadModel(obj.apiVersion, obj.kind);
        if (!Model) {
            errors.push(`unknown apiVersion/kind ${obj.apiVersion} ` +
                        `${obj.kind}`);
            continue;
        }
        try {
            new Model(obj).validate();
        } catch (e) {
            errors.push(String(e.message || e));
        }
        const decl = NODE_MODULES + modelPath(obj.apiVersion, obj.kind) +
            ".d.ts";
        const unknown = [];
        unknownFields(obj, decl, "", unknown);
        for (const u of unknown) errors.push(`unknown field ${u}`);
    }
    return results;
}

const files = process.argv.slice(2);
if (!files.length) {
    process.stderr.write("usage: k8s_validate.mjs FILE.yaml... | -\n");
    process.exit(2);
}
const all = [];
for (const f of files) {
    let text;
    try {
        text = readFileSync(f === "-" ? 0 : f, "utf8");
    } catch (e) {
        process.stderr.write(`k8s_validate: ${f}: ${e.message}\n`);
        process.exit(2);
    }
    all.push(...await check(f, text));
}
process.stdout.write(JSON.stringify(all) + "\n");
