package salesforcefake

import (
	"net/http"
	"strings"
	"time"
)

// maxReplicationSpan is how far back the replication resources reach.
const maxReplicationSpan = 30 * 24 * time.Hour

// replicable are the sObjects whose deletions the fake logs.
var replicable = map[string]bool{"account": true, "contact": true, "opportunity": true}

type deletedRecord struct {
	ID          string `json:"id"`
	DeletedDate string `json:"deletedDate"`
}

type deletedResult struct {
	DeletedRecords        []deletedRecord `json:"deletedRecords"`
	EarliestDateAvailable string          `json:"earliestDateAvailable"`
	LatestDateCovered     string          `json:"latestDateCovered"`
}

// serveDeleted answers GET .../sobjects/{SObject}/deleted/?start=&end=.
// Like Salesforce it ignores seconds, wants start more than a minute
// before end and within the last 30 days, and refuses a start before a
// purge of the delete log.
func (s *Server) serveDeleted(w http.ResponseWriter, r *http.Request) {
	name := deletedPath.FindStringSubmatch(r.URL.Path)[2]
	if !replicable[strings.ToLower(name)] {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	q := r.URL.Query()
	if q.Get("start") == "" || q.Get("end") == "" {
		writeErrors(w, http.StatusBadRequest, "MISSING_ARGUMENT", "Both start and end parameters must be specified")
		return
	}
	start, err1 := time.Parse(time.RFC3339, q.Get("start"))
	end, err2 := time.Parse(time.RFC3339, q.Get("end"))
	if err1 != nil || err2 != nil {
		writeErrors(w, http.StatusBadRequest, "INVALID_DATE_FORMAT",
			"Date/time values must be in ISO 8601 format, like 2013-05-05T00:00:00+00:00 (URL-encoded)")
		return
	}
	start, end = start.UTC().Truncate(time.Minute), end.UTC().Truncate(time.Minute)
	s.mu.Lock()
	res, msg := s.deletedBetween(s.org.object(name), start, end)
	s.mu.Unlock()
	if msg != "" {
		writeErrors(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE", msg)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// deletedBetween lists obj's deletions in [start, end), or says why the
// window is refused.
func (s *Server) deletedBetween(obj *sobject, start, end time.Time) (deletedResult, string) {
	now := s.org.stamp()
	switch {
	case end.Sub(start) <= time.Minute:
		return deletedResult{}, "startDate must chronologically precede endDate by more than one minute"
	case start.Before(now.Add(-maxReplicationSpan)):
		return deletedResult{}, "startDate cannot be more than 30 days ago"
	case !obj.earliest.IsZero() && start.Before(obj.earliest):
		return deletedResult{}, "startDate is before earliestDateAvailable: the delete log was purged, replicate the whole object again"
	}
	earliest := obj.earliest
	if earliest.IsZero() {
		earliest = now.Add(-deleteLogDays * 24 * time.Hour).Truncate(time.Minute)
	}
	res := deletedResult{
		DeletedRecords:        []deletedRecord{},
		EarliestDateAvailable: earliest.Format(DatetimeLayout),
		LatestDateCovered:     end.Format(DatetimeLayout),
	}
	for _, d := range obj.deleted {
		if !d.at.Before(start) && d.at.Before(end) {
			res.DeletedRecords = append(res.DeletedRecords, deletedRecord{ID: d.id, DeletedDate: d.at.Format(DatetimeLayout)})
		}
	}
	return res, ""
}
