// Package crmhttp is the HTTP plumbing the CRM connectors share: a request
// loop that paces requests with a proactive limiter, retries what the
// vendor says is transient (with capped exponential backoff and jitter),
// refreshes credentials once when they expire, and stops cleanly when the
// vendor's allocation is spent. What a response means is the vendor's
// business: each connector passes its own Classify. A success whose body
// does not decode (cut short by a dropped connection or a proxy, or not
// JSON at all) did not bring what the vendor sent, so it is retried like
// a 5xx: DoDecode decodes the body inside the loop and hands the result
// to the caller.
package crmhttp
