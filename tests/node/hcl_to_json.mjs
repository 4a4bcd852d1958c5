// Parses HCL files (Nomad job specifications) with HashiCorp's HCL
// parser (@cdktf/hcl2json, its WebAssembly build) and prints, as one
// JSON array on stdout, {file, error, body} for each: body is the
// file's blocks and attributes as JSON, error the parser's message.
// tests/e2e/test_packaging.py checks the rest on the JSON.
//   node tests/node/hcl_to_json.mjs FILE.hcl...
// Exit status: 0 when it could read every file, 2 when it could not.
import { readFileSync } from "node:fs";
import { parse } from "@cdktf/hcl2json";

const files = process.argv.slice(2);
if (!files.length) {
    process.stderr.write("usage: hcl_to_json.mjs FILE.hcl... | -\n");
    process.exit(2);
}
const out = [];
for (const f of files) {
    let text;
    try {
        text = readFileSync(f === "-" ? 0 : f, "utf8");
    } catch (e) {
        process.stderr.write(`hcl_to_json: ${f}: ${e.message}\n`);
        process.exit(2);
    }
    try {
        out.push({ file: f, error: null, body: await parse(f, text) });
    } catch (e) {
        out.push({ file: f, error: String(e.message || e), body: null });
    }
}
process.stdout.write(JSON.stringify(out) + "\n");
