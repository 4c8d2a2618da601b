/** onnxruntime-node in the browser: there is no native addon, so loading it fails (the page asks for backend 'web'). */
throw new Error("onnxruntime-node is a native addon and cannot load in a browser; use backend 'web' (onnxruntime-web)");
