// ONNX Runtime (npm onnxruntime-node, CPU, all graph optimisations) latency of one ONNX model on a random input
// in [0, 1) of the given shape: warm-up, then the median over 50 runs. Prints one JSON object.
// Usage: NODE_PATH=DIR/node_modules node bench/ort_latency.js model.onnx THREADS '[1,3,224,224]'

const ort = require("onnxruntime-node");

async function main() {
  const [path, threads, shape] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(path, {
    executionProviders: ["cpu"], graphOptimizationLevel: "all",
    intraOpNumThreads: Number(threads), interOpNumThreads: 1,
  });
  const dims = JSON.parse(shape);
  const size = dims.reduce((a, b) => a * b, 1);
  const feeds = {[session.inputNames[0]]: new ort.Tensor("float32", Float32Array.from({length: size}, Math.random), dims)};
  for (let i = 0; i < 5; ++i) await session.run(feeds);
  const ms = [];
  for (let i = 0; i < 50; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  ms.sort((a, b) => a - b);
  console.log(JSON.stringify({model: path, threads: Number(threads), median_ms: ms[ms.length >> 1]}));
}
main().catch((e) => { console.error(`ort_latency: error: ${e.message}`); process.exit(1); });
