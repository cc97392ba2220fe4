package main

// requireRedis refuses a command whose work only a Redis keeps (counts,
// invites, imported areas and targets) when no Redis is configured: on the
// embedded store an invite code would vanish at exit and the counts would
// read all zero, which a coordinator could take for the truth. STORE=memory
// runs it on the embedded store anyway (for a demonstration or a test).
func requireRedis(cmd string, cfg config, opts appOptions) error {
	if cfg.Memory && !cfg.explicitMemory && opts.client == nil {
		return usagef("%s: needs a Redis: set REDIS_URL (or REDIS_CLUSTER_ADDRS, REDIS_SENTINEL_ADDRS); the embedded store forgets everything at exit, and STORE=memory runs on it anyway", cmd)
	}
	return nil
}
