package runtime

// KVCacheBytes returns the memory of one session's cache (the KV cache of
// every attention layer, and any rolling state) for the model's context size.
// A session's other buffers (activations for a batch of prompt tokens, the
// logits) are small next to it for every real model. Servers use it to bound
// the memory of their parallel sessions.
func (m *Model) KVCacheBytes() int64 { return m.dec.CacheBytes(m.opts.ContextSize, m.cacheOptions()) }

// Logits returns the logits the session computed last (one per vocabulary
// entry). While a range over Session.Generate is inside its loop body for a
// sampled token (Token.ID >= 0), they are the logits that token was drawn
// from, as the model gave them: before penalties and temperature. Servers
// use them for log probabilities. The slice is the session's own buffer:
// read it before the next step and do not modify it.
func (s *Session) Logits() []float32 { return s.logits }
