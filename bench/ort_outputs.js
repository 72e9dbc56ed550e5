// ONNX Runtime (npm onnxruntime-node, CPU, all graph optimisations) outputs of one ONNX model on samples stored
// as raw little-endian float32, one sample after another, each of the model's input shape: writes the model's
// first output for every sample, raw float32, to OUT. Used to check that q46's QDQ export matches q46.
// Usage: NODE_PATH=DIR/node_modules node bench/ort_outputs.js model.onnx '[1,3,32,32]' in.f32 out.f32

const fs = require("fs");
const ort = require("onnxruntime-node");

async function main() {
  const [path, shape, inputs, out] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(path, {executionProviders: ["cpu"], graphOptimizationLevel: "all"});
  const raw = fs.readFileSync(inputs);
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const name = session.inputNames[0];
  const dims = JSON.parse(shape);  // the model's input shape, batch included
  const per = dims.reduce((a, b) => a * b, 1);
  if (all.length % per !== 0) throw new Error(`${inputs}: ${all.length} floats is not a multiple of ${per}`);
  const chunks = [];
  for (let i = 0; i < all.length; i += per) {
    const result = await session.run({[name]: new ort.Tensor("float32", all.slice(i, i + per), dims)});
    chunks.push(Buffer.from(result[session.outputNames[0]].data.buffer));
  }
  fs.writeFileSync(out, Buffer.concat(chunks));
}
main().catch((e) => { console.error(`ort_outputs: error: ${e.message}`); process.exit(1); });
