// Package chaos holds crmsync's chaos tests: the built binary run as
// subprocesses against a real Redis and the project's vendor fakes
// (hubspotfake, sendgridfake, slackfake), while the tests kill it, stop
// its Redis, hand it wrong credentials or broken input, and then count
// what the fakes received.
//
// Every scenario compares its outcome with a reference run of the same
// portfolio and rules without faults: every message the reference
// delivered must arrive exactly once, nothing else may arrive, and the
// synced store must hold the same records. Each scenario logs one line
//
//	chaos: NAME lost=N dup=N extra=N unknown=N recovery=S
//
// where lost counts expected messages (or records) that never arrived,
// dup the copies beyond the first, extra what arrived that the reference
// did not send (or records that differ), unknown the emails that did not
// arrive and that crmsync history shows as unknown (claimed when the
// process died: crmsync cannot tell whether they went, so it leaves them
// to an operator rather than risk a duplicate), and recovery the seconds
// from the fault to the first sign of recovery (n/a when there is no
// fault). Any lost, dup or extra fails the scenario.
//
// The tests are gated: they run only when CRMSYNC_CHAOS is "short" (small
// portfolios, one fault moment per family: what CI runs, about 2 minutes
// on 2 cores) or "full" (every moment, bigger portfolios: about 4
// minutes). The scenarios run in parallel (-parallel defaults to 12
// here: they wait far more than they compute).
//
//	CRMSYNC_CHAOS=short go test -count=1 -run Chaos -v -timeout 20m ./internal/chaos/
//	CRMSYNC_CHAOS=full go test -count=1 -run Chaos -v -timeout 60m ./internal/chaos/
//
// TestMain builds cmd/crmsync once per run; CRMSYNC_CHAOS_BINARY=PATH
// tests a prebuilt binary instead (a release, an older build).
//
// They need a Redis ≥ 6.2 at CRMSYNC_TEST_REDIS_URL (default
// redis://127.0.0.1:6379; each scenario takes a fresh namespace there) and
// redis-server on PATH for the scenarios that stop Redis (they start their
// own, with AOF). Without them the tests skip, except under CI=true, where
// they fail.
package chaos
