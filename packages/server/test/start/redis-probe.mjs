// Loaded with `--import` into a `tether serve` child: at exit, prints how many modules of ioredis
// and of the Socket.IO Redis adapter the process loaded (both are CommonJS, so in require.cache).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
process.on('exit', () => {
  const redisModules = Object.keys(require.cache).filter((file) =>
    /node_modules[\\/](ioredis|@socket\.io[\\/]redis-adapter)[\\/]/.test(file),
  );
  process.stderr.write(`redis-probe: ${redisModules.length} redis modules loaded\n`);
});
