package mondayfake

import (
	"fmt"
	"slices"
	"strings"
)

// fieldDef is a field of the schema subset the fake serves: its
// arguments (required ones marked with a trailing "!") and the object
// type it returns ("" for a scalar).
type fieldDef struct {
	args []string
	typ  string
}

// ColumnValue implementations and the column types they stand for.
var valueTypes = map[string]string{
	"StatusValue":        "status",
	"NumbersValue":       "numbers",
	"PeopleValue":        "people",
	"BoardRelationValue": "board_relation",
	"DateValue":          "date",
	"EmailValue":         "email",
	"PhoneValue":         "phone",
	"CheckboxValue":      "checkbox",
	"LinkValue":          "link",
	"TextValue":          "text",
	"LongTextValue":      "long_text",
	"DropdownValue":      "dropdown",
	"LastUpdatedValue":   "last_updated",
}

// columnValueFields are the fields of the ColumnValue interface.
var columnValueFields = map[string]fieldDef{
	"id": {}, "type": {}, "text": {}, "value": {}, "column": {typ: "Column"},
}

// schema is the subset of monday's API schema (API-Version 2025-07) that
// the fake serves, from mondaycom/mcp's schema.graphql.
var schema = map[string]map[string]fieldDef{
	"Query": {
		"complexity":      {typ: "Complexity"},
		"boards":          {args: []string{"ids", "limit", "page", "state", "workspace_ids", "board_kind", "order_by"}, typ: "Board"},
		"next_items_page": {args: []string{"cursor!", "limit"}, typ: "ItemsResponse"},
		"items":           {args: []string{"ids", "limit", "page", "exclude_nonactive", "newest_first"}, typ: "Item"},
		"users":           {args: []string{"ids", "limit", "page", "non_active", "emails", "kind", "name", "newest_first"}, typ: "User"},
		"me":              {typ: "User"},
	},
	"Complexity": {"before": {}, "query": {}, "after": {}, "reset_in_x_seconds": {}},
	"Board": {
		"id": {}, "name": {}, "state": {}, "board_kind": {}, "description": {}, "workspace_id": {}, "updated_at": {},
		"columns":       {args: []string{"ids", "types", "capabilities"}, typ: "Column"},
		"items_page":    {args: []string{"limit", "cursor", "query_params", "hierarchy_scope_config"}, typ: "ItemsResponse"},
		"activity_logs": {args: []string{"from", "to", "limit", "page", "item_ids", "column_ids", "group_ids", "user_ids"}, typ: "ActivityLogType"},
		"groups":        {args: []string{"ids"}, typ: "Group"},
	},
	"Column":          {"id": {}, "title": {}, "type": {}, "settings_str": {}, "description": {}, "archived": {}, "width": {}},
	"ItemsResponse":   {"cursor": {}, "items": {typ: "Item"}},
	"Group":           {"id": {}, "title": {}, "color": {}, "position": {}},
	"Item":            {"id": {}, "name": {}, "state": {}, "created_at": {}, "updated_at": {}, "creator_id": {}, "url": {}, "group": {typ: "Group"}, "column_values": {args: []string{"ids", "types", "capabilities"}, typ: "ColumnValue"}},
	"User":            {"id": {}, "name": {}, "email": {}, "enabled": {}, "is_guest": {}, "is_pending": {}, "created_at": {}, "title": {}},
	"ActivityLogType": {"id": {}, "event": {}, "entity": {}, "user_id": {}, "account_id": {}, "created_at": {}, "data": {}},
	"PeopleEntity":    {"id": {}, "kind": {}},
	"ColumnValue":     columnValueFields,
}

func init() {
	typed := map[string]map[string]fieldDef{
		"StatusValue":        {"label": {}, "index": {}, "is_done": {}, "updated_at": {}},
		"NumbersValue":       {"number": {}, "symbol": {}, "direction": {}},
		"PeopleValue":        {"persons_and_teams": {typ: "PeopleEntity"}, "updated_at": {}},
		"BoardRelationValue": {"linked_item_ids": {}, "display_value": {}},
		"DateValue":          {"date": {}, "time": {}, "updated_at": {}},
		"EmailValue":         {"email": {}, "label": {}, "updated_at": {}},
		"PhoneValue":         {"phone": {}, "country_short_name": {}, "updated_at": {}},
		"CheckboxValue":      {"checked": {}, "updated_at": {}},
		"LinkValue":          {"url": {}, "url_text": {}, "updated_at": {}},
		"TextValue":          {},
		"LongTextValue":      {"updated_at": {}},
		"DropdownValue":      {"values": {}},
		"LastUpdatedValue":   {"updated_at": {}, "updater_id": {}},
	}
	for name, fields := range typed {
		for k, v := range columnValueFields {
			fields[k] = v
		}
		schema[name] = fields
	}
}

// gqlError is one entry of a GraphQL answer's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Locations  []location     `json:"locations,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// validate checks an operation against the schema and the variables
// sent, returning graphql-ruby's validation errors.
func validate(op *operation, vars map[string]any) []gqlError {
	var errs []gqlError
	if op.kind != "query" {
		return []gqlError{{Message: "The fake serves queries only", Extensions: map[string]any{"code": "missingFieldInSchema"}}}
	}
	declared := map[string]string{}
	for _, d := range op.vars {
		declared[d.name] = d.typ
		if strings.HasSuffix(d.typ, "!") {
			if v, ok := vars[d.name]; !ok || v == nil {
				errs = append(errs, gqlError{
					Message:    fmt.Sprintf("Variable $%s of type %s was provided invalid value", d.name, d.typ),
					Locations:  []location{{Line: 1, Column: 1}},
					Extensions: map[string]any{"value": nil, "problems": []any{map[string]any{"path": []any{}, "explanation": "Expected value to not be null"}}},
				})
			}
		}
	}
	errs = append(errs, checkSelection(op.sel, "Query", declared, []any{"query"})...)
	return errs
}

func checkSelection(sel []selection, typ string, declared map[string]string, path []any) []gqlError {
	var errs []gqlError
	fields := schema[typ]
	for _, s := range sel {
		if s.field == nil {
			if _, ok := valueTypes[s.fragType]; !ok || typ != "ColumnValue" {
				errs = append(errs, gqlError{
					Message:    fmt.Sprintf("Fragment on %s can't be spread inside %s", s.fragType, typ),
					Extensions: map[string]any{"code": "cannotSpreadFragment", "typeName": s.fragType, "parentName": typ},
				})
				continue
			}
			errs = append(errs, checkSelection(s.fragSel, s.fragType, declared, path)...)
			continue
		}
		f := s.field
		loc := []location{{Line: f.line, Column: f.col}}
		fp := append(slices.Clone(path), f.name)
		def, ok := fields[f.name]
		if !ok {
			errs = append(errs, gqlError{
				Message: fmt.Sprintf("Field '%s' doesn't exist on type '%s'", f.name, typ), Locations: loc, Path: fp,
				Extensions: map[string]any{"code": "undefinedField", "typeName": typ, "fieldName": f.name},
			})
			continue
		}
		errs = append(errs, checkArgs(f, def, declared, loc, fp)...)
		switch {
		case def.typ != "" && len(f.sel) == 0:
			errs = append(errs, gqlError{
				Message:   fmt.Sprintf("Field must have selections (field '%s' returns %s but has no selections. Did you mean '%s { ... }'?)", f.name, def.typ, f.name),
				Locations: loc, Path: fp, Extensions: map[string]any{"code": "selectionMismatch", "nodeName": "field '" + f.name + "'", "typeName": def.typ},
			})
		case def.typ == "" && len(f.sel) > 0:
			errs = append(errs, gqlError{
				Message:   fmt.Sprintf("Selections can't be made on scalars (field '%s' returns a scalar but has selections [...])", f.name),
				Locations: loc, Path: fp, Extensions: map[string]any{"code": "selectionMismatch", "nodeName": "field '" + f.name + "'"},
			})
		case def.typ != "":
			errs = append(errs, checkSelection(f.sel, def.typ, declared, fp)...)
		}
	}
	return errs
}

func checkArgs(f *field, def fieldDef, declared map[string]string, loc []location, path []any) []gqlError {
	var errs []gqlError
	accepted := map[string]bool{}
	for _, a := range def.args {
		accepted[strings.TrimSuffix(a, "!")] = true
	}
	for i, a := range f.args {
		if !accepted[a] {
			errs = append(errs, gqlError{
				Message: fmt.Sprintf("Field '%s' doesn't accept argument '%s'", f.name, a), Locations: loc, Path: append(slices.Clone(path), a),
				Extensions: map[string]any{"code": "argumentNotAccepted", "name": f.name, "typeName": "Field", "argumentName": a},
			})
		}
		for _, v := range f.argVals[i].variables(nil) {
			if _, ok := declared[v]; !ok {
				errs = append(errs, gqlError{
					Message: fmt.Sprintf("Variable $%s is used by anonymous query but not declared", v), Locations: loc, Path: path,
					Extensions: map[string]any{"code": "variableNotDefined", "variableName": v},
				})
			}
		}
	}
	var missing []string
	for _, a := range def.args {
		if name, ok := strings.CutSuffix(a, "!"); ok && !slices.Contains(f.args, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, gqlError{
			Message: fmt.Sprintf("Field '%s' is missing required arguments: %s", f.name, strings.Join(missing, ", ")), Locations: loc, Path: path,
			Extensions: map[string]any{"code": "missingRequiredArguments", "className": "Field", "name": f.name, "arguments": strings.Join(missing, ", ")},
		})
	}
	return errs
}

// arg returns a field's argument resolved against vars, nil when absent.
func (f *field) arg(name string, vars map[string]any) any {
	for i, a := range f.args {
		if a == name {
			return f.argVals[i].resolve(vars)
		}
	}
	return nil
}
