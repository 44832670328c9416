// Validates every object of the Kubernetes manifests named on the command line against the API's JSON schemas
// (kubernetes-models, generated from the Kubernetes OpenAPI spec). Exit 1 with each finding; run by scripts/lint-deploy.sh.
const fs = require("fs");
const YAML = require("yaml");

let failures = 0;
for (const file of process.argv.slice(2)) {
  const documents = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  documents.forEach((document, index) => {
    const where = `${file} document ${index + 1}`;
    if (document.errors.length > 0) {
      console.log(`${where}: ${document.errors.map((e) => e.message).join("; ")}`);
      failures++;
      return;
    }
    const object = document.toJS();
    if (object === null) return;
    const group = object.apiVersion.includes("/") ? object.apiVersion : `v1`;
    let model;
    try {
      model = require(`kubernetes-models/${group}`)[object.kind];
    } catch (e) {
      model = undefined;
    }
    if (model === undefined) {
      console.log(`${where}: unknown kind ${object.apiVersion} ${object.kind}`);
      failures++;
      return;
    }
    try {
      new model(object).validate();
      console.log(`${where}: ${object.kind} ${object.metadata.name} valid`);
    } catch (e) {
      console.log(`${where}: ${object.kind} ${object.metadata && object.metadata.name}: ${e.message}`);
      failures++;
    }
  });
}
process.exit(failures === 0 ? 0 : 1);
