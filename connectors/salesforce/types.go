package salesforce

import "encoding/json"

// queryResult is a page of a SOQL query (GET .../query and its
// nextRecordsUrl), as split by decodeQuery. Records stay raw, slices of
// the answer, so that each is decoded on its own and one malformed record
// cannot spoil the page.
type queryResult struct {
	TotalSize      int               // totalSize
	Done           bool              // done
	NextRecordsURL string            // nextRecordsUrl
	Records        []json.RawMessage // records
}

// deletedResult is the answer of GET .../sobjects/{SObject}/deleted/.
type deletedResult struct {
	DeletedRecords []struct {
		ID          string `json:"id"`
		DeletedDate string `json:"deletedDate"`
	} `json:"deletedRecords"`
	EarliestDateAvailable string `json:"earliestDateAvailable"`
	LatestDateCovered     string `json:"latestDateCovered"`
}

// apiErrorBody is one element of a REST API error answer, which is an
// array: [{"message": "...", "errorCode": "INVALID_FIELD"}].
type apiErrorBody struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}
