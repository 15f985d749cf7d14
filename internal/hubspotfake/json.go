package hubspotfake

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// appendString writes v as a JSON string. The fake writes its answers by
// hand so that it stays cheap next to the client it serves in benchmarks.
func appendString(b *bytes.Buffer, v string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(v); {
		c := v[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(v[start:i])
				b.WriteString(`\ufffd`)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b.WriteString(v[start:i])
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
		i++
		start = i
	}
	b.WriteString(v[start:])
	b.WriteByte('"')
}

// objectJSON says how to write a record.
type objectJSON struct {
	kind       Kind
	props      []string // sorted property names to write
	assoc      bool     // write associations.companies
	archivedAt bool     // write archivedAt
}

// write writes r (or its raw override) as HubSpot's SimplePublicObject.
func (o objectJSON) write(b *bytes.Buffer, r *record) {
	if r.raw != "" {
		b.WriteString(r.raw)
		return
	}
	b.WriteString(`{"id":`)
	appendString(b, r.ID)
	b.WriteString(`,"properties":{`)
	// o.props and r.props are both sorted by name: walk them together
	rest := string(r.props)
	name, value := nextProp(&rest)
	for i, p := range o.props {
		if i > 0 {
			b.WriteByte(',')
		}
		appendString(b, p)
		b.WriteByte(':')
		for name != "" && name < p {
			name, value = nextProp(&rest)
		}
		if name == p {
			appendString(b, value)
		} else {
			b.WriteString("null")
		}
	}
	b.WriteString(`},"createdAt":`)
	appendString(b, isoMillis(r.CreatedAt))
	b.WriteString(`,"updatedAt":`)
	appendString(b, isoMillis(r.Modified))
	if r.Archived {
		b.WriteString(`,"archived":true`)
	} else {
		b.WriteString(`,"archived":false`)
	}
	if o.archivedAt && r.Archived {
		b.WriteString(`,"archivedAt":`)
		appendString(b, isoMillis(r.ArchivedAt))
	}
	if o.assoc && len(r.Companies) > 0 {
		o.writeAssociations(b, r)
	}
	b.WriteByte('}')
}

// writeAssociations writes the v3 associations.companies of a contact or
// deal: a primary company appears twice, typed "<kind>_to_company" and
// "<kind>_to_company_unlabeled", the others once, unlabeled.
func (o objectJSON) writeAssociations(b *bytes.Buffer, r *record) {
	prefix := "contact_to_company"
	if o.kind == Deals {
		prefix = "deal_to_company"
	}
	b.WriteString(`,"associations":{"companies":{"results":[`)
	first := true
	item := func(id, typ string) {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`{"id":`)
		appendString(b, id)
		b.WriteString(`,"type":`)
		appendString(b, typ)
		b.WriteByte('}')
	}
	for _, a := range r.Companies {
		if a.Primary {
			item(a.CompanyID, prefix)
		}
		item(a.CompanyID, prefix+"_unlabeled")
	}
	b.WriteString(`]}}`)
}

// nextProp pops the next name and value off packed properties; "" at the
// end.
func nextProp(rest *string) (name, value string) {
	if *rest == "" {
		return "", ""
	}
	name, after, _ := strings.Cut(*rest, "\x00")
	value, *rest, _ = strings.Cut(after, "\x00")
	return name, value
}
