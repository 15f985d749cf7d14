package hubspot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// page is the envelope of list and search answers. Results stay raw so
// that each record is decoded on its own and a bad one cannot spoil the
// page.
type page struct {
	Total   *int              `json:"total"` // search only
	Results []json.RawMessage `json:"results"`
	Paging  *paging           `json:"paging"`
}

type paging struct {
	Next *struct {
		After string `json:"after"`
	} `json:"next"`
}

// next returns the cursor of the next page, "" on the last one.
func (p *paging) next() string {
	if p == nil || p.Next == nil {
		return ""
	}
	return p.Next.After
}

// object is HubSpot's SimplePublicObject(WithAssociations). Property
// values are strings or null; null decodes as "" (no allocation per
// value), and any other JSON type fails the record.
type object struct {
	ID           string                   `json:"id"`
	Properties   map[string]string        `json:"properties"`
	CreatedAt    string                   `json:"createdAt"`
	UpdatedAt    string                   `json:"updatedAt"`
	Archived     bool                     `json:"archived"`
	ArchivedAt   string                   `json:"archivedAt"`
	Associations map[string]associationV3 `json:"associations"`
}

// prop returns a property's value, "" when absent or null.
func (o *object) prop(name string) string { return o.Properties[name] }

// key is what paging needs of a record: its id and modified time, read
// leniently so that a record whose other fields are broken still moves
// the watermark.
type key struct {
	ID         string                     `json:"id"`
	Properties map[string]json.RawMessage `json:"properties"`
}

type associationV3 struct {
	Results []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"results"`
}

// owner is HubSpot's PublicOwner.
type owner struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Archived  bool   `json:"archived"`
}

// accountInfo is the answer of /account-info/v3/details.
type accountInfo struct {
	PortalID              int64  `json:"portalId"`
	TimeZone              string `json:"timeZone"`
	UIDomain              string `json:"uiDomain"`
	UTCOffsetMilliseconds int64  `json:"utcOffsetMilliseconds"`
}

// searchRequest is HubSpot's PublicObjectSearchRequest.
type searchRequest struct {
	FilterGroups []filterGroup `json:"filterGroups,omitempty"`
	Sorts        []sortSpec    `json:"sorts,omitempty"`
	Properties   []string      `json:"properties"`
	Limit        int           `json:"limit"`
}

type filterGroup struct {
	Filters []filter `json:"filters"`
}

type filter struct {
	PropertyName string `json:"propertyName"`
	Operator     string `json:"operator"`
	Value        string `json:"value"`
}

type sortSpec struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

// batchRead is the body of a v4 association batch read.
type batchRead struct {
	Inputs []objectID `json:"inputs"`
}

type objectID struct {
	ID string `json:"id"`
}

// batchAssociations is the answer of a v4 association batch read (200 or
// 207; errors list the records without associations).
type batchAssociations struct {
	Results []struct {
		From objectID       `json:"from"`
		To   []associatedV4 `json:"to"`
	} `json:"results"`
}

// associatedV4 is one associated record with the types of the
// association.
type associatedV4 struct {
	ToObjectID       flexID `json:"toObjectId"`
	AssociationTypes []struct {
		Category string  `json:"category"`
		TypeID   int     `json:"typeId"`
		Label    *string `json:"label"`
	} `json:"associationTypes"`
}

// flexID is an id HubSpot sends as a string (its spec) or a number (what
// some of its endpoints do).
type flexID string

// UnmarshalJSON accepts a JSON string or number.
func (f *flexID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	b = bytes.TrimSpace(b)
	if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		return fmt.Errorf("id %s is neither a string nor an integer", b)
	}
	*f = flexID(b)
	return nil
}

// apiError is HubSpot's error body (every field optional).
type apiError struct {
	Status     string              `json:"status"`
	Message    string              `json:"message"`
	Category   string              `json:"category"`
	PolicyName string              `json:"policyName"`
	Context    map[string][]string `json:"context"`
	Errors     []struct {
		Message string              `json:"message"`
		Context map[string][]string `json:"context"`
	} `json:"errors"`
}

// tokenError is the token endpoint's error body: HubSpot's own status
// code, or OAuth's error.
type tokenError struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error"`
}
