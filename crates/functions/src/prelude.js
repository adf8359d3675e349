// Loaded into every function instance before the function's own code.
// `native` holds what the host provides; the returned function runs one
// invocation: it sets the context's invocation values and calls the handler.
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
  const { functionName, version, memoryMiB } = native.info;
  // The invocation being served: an instance serves one at a time, so one
  // context object, made once, reads it.
  let requestId = '';
  let timeoutMs = 0;
  // The gateway's reverse-push endpoint, for a WebSocket API's functions:
  // a push document in, `{errNo, errMsg}` back.
  const push = (document) => Promise.resolve(JSON.parse(native.push(JSON.stringify(document))));
  const websocket = Object.freeze({
    push,
    send: (secConnectionID, data, dataType) => push({ websocket: { action: 'data send', secConnectionID, dataType: dataType || 'text', data } }),
    close: (secConnectionID) => push({ websocket: { action: 'closing', secConnectionID } }),
  });
  const context = Object.freeze({
    // FunctionGraph's context methods.
    getRequestID: () => requestId,
    getRemainingTimeInMilliSeconds: () => remaining(),
    getFunctionName: () => functionName,
    getVersion: () => version,
    getMemorySize: () => memoryMiB,
    getRunningTimeInSeconds: () => timeoutMs / 1000,
    getUserData: (key) => env[key],
    getLogger: () => console,
    // The same as properties (Lambda / SCF style).
    get requestId() { return requestId; },
    get request_id() { return requestId; },
    functionName,
    function_name: functionName,
    functionVersion: version,
    function_version: version,
    memoryLimitInMB: memoryMiB,
    memory_limit_in_mb: memoryMiB,
    get timeLimitInMs() { return timeoutMs; },
    get time_limit_in_ms() { return timeoutMs; },
    environment: env,
    getRemainingTimeInMillis: () => remaining(),
    websocket,
  });
  return function invoke(handler, event, id, timeout) {
    requestId = id;
    timeoutMs = timeout;
    return handler(event, context);
  };
})
