package salesforcefake

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// activityLength is the duration of the Events LogActivity logs.
const activityLength = 30 * time.Minute

// LogActivity logs a completed Task or an Event (sobject) that took place
// at at, on the account accountID and with whoID (a contact, a lead or
// ""), and returns its id. The activity's SystemModstamp is now. When
// accountID is "" and whoID is a contact, the activity's AccountId is the
// contact's account, as Salesforce derives it.
//
// As in Salesforce, the LastActivityDate of the account and of the contact
// rolls up to the date of at (when later than theirs) WITHOUT a change of
// their SystemModstamp: "SystemModstamp doesn't capture every field
// change". A keyset query on Account or Contact does not see the change.
func (s *Server) LogActivity(sobject, accountID, whoID string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := s.org.object(sobject)
	if obj.name != "Task" && obj.name != "Event" {
		panic(fmt.Sprintf("salesforcefake: LogActivity on %q: want Task or Event", sobject))
	}
	contacts := s.org.object("Contact")
	if accountID == "" {
		if c, ok := contacts.recs[whoID]; ok {
			accountID, _ = c.fields["AccountId"].(string)
		}
	}
	date := at.UTC().Format(DateLayout)
	r := s.org.put(obj, activityFields(obj.name, accountID, whoID, at), true)
	s.org.rollUp(s.org.object("Account"), accountID, date)
	if strings.HasPrefix(whoID, keyPrefixes["Contact"]) {
		s.org.rollUp(contacts, whoID, date)
	}
	return r.id
}

// activityFields returns the fields of a Task or an Event logged at at.
func activityFields(sobject, accountID, whoID string, at time.Time) map[string]any {
	f := map[string]any{
		"WhoId": orNil(whoID), "WhatId": orNil(accountID), "AccountId": orNil(accountID),
		"ActivityDate": at.UTC().Format(DateLayout), "IsDeleted": false,
	}
	if sobject == "Task" {
		f["Subject"], f["Status"], f["TaskSubtype"], f["Type"] = "Call", "Completed", "Call", "Call"
		f["CompletedDateTime"] = at
		return f
	}
	f["Subject"], f["EventSubtype"], f["Type"] = "Meeting", "Event", "Meeting"
	f["ActivityDateTime"], f["StartDateTime"], f["EndDateTime"] = at, at, at.Add(activityLength)
	f["DurationInMinutes"] = int(activityLength / time.Minute)
	return f
}

func orNil(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// rollUp moves the LastActivityDate of obj's record id to date when
// later, keeping its SystemModstamp and LastModifiedDate: a roll-up
// field, which Salesforce changes without stamping the record. Records
// are never changed once stored, so it stores a new version.
func (o *org) rollUp(obj *sobject, id, date string) {
	r, ok := obj.recs[id]
	if !ok {
		return
	}
	if cur, _ := r.fields["LastActivityDate"].(string); cur >= date {
		return
	}
	f := maps.Clone(r.fields)
	f["LastActivityDate"] = date
	obj.recs[id] = &record{id: r.id, mod: r.mod, fields: f}
}
