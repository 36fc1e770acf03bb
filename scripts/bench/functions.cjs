// Trivial functions: the benchmark measures the cost of crossing the wire, not of the work.
function add(a, b) {
  return a + b;
}

function byteSum(bytes) {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 1024) sum += bytes[i];
  return sum;
}

module.exports = { add, byteSum };
