// Loaded into every function instance before the function's own code.
// `native` holds what the host provides; the returned function runs one
// invocation: it parses the event, builds the context and calls the handler.
(function (native) {
  'use strict';
  const text = (v) => {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return v.stack ? `${v}\n${v.stack}` : String(v);
    try {
      const s = JSON.stringify(v);
      return s === undefined ? String(v) : s;
    } catch (e) {
      return String(v);
    }
  };
  const logger = (level) => (...args) => native.log(level, args.map(text).join(' '));
  const console = Object.freeze({
    log: logger('info'), info: logger('info'), debug: logger('debug'), warn: logger('warn'), error: logger('error'),
  });
  const env = Object.freeze(Object.assign(Object.create(null), native.env));
  Object.defineProperty(globalThis, 'console', { value: console, enumerable: false });
  Object.defineProperty(globalThis, 'process', { value: Object.freeze({ env }), enumerable: false });
  const remaining = native.remaining;
  return function invoke(handler, eventJson, meta) {
    const event = JSON.parse(eventJson);
    const context = Object.freeze({
      // FunctionGraph's context methods.
      getRequestID: () => meta.requestId,
      getRemainingTimeInMilliSeconds: () => remaining(),
      getFunctionName: () => meta.functionName,
      getVersion: () => meta.version,
      getMemorySize: () => meta.memoryMiB,
      getRunningTimeInSeconds: () => meta.timeoutMs / 1000,
      getUserData: (key) => env[key],
      getLogger: () => console,
      // The same as properties (Lambda / SCF style).
      requestId: meta.requestId,
      request_id: meta.requestId,
      functionName: meta.functionName,
      function_name: meta.functionName,
      functionVersion: meta.version,
      function_version: meta.version,
      memoryLimitInMB: meta.memoryMiB,
      memory_limit_in_mb: meta.memoryMiB,
      timeLimitInMs: meta.timeoutMs,
      time_limit_in_ms: meta.timeoutMs,
      environment: env,
      getRemainingTimeInMillis: () => remaining(),
    });
    return handler(event, context);
  };
})
