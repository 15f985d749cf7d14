package rules

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/slack"
)

// escapeFunc is the name under which mrkdwnEscape is known to templates.
const escapeFunc = "_crmsync_escape"

// Render executes the action's Text over d and returns "" when it has none.
// Every value the template prints is escaped for Slack mrkdwn with
// slack.Escape, so a client called "<!channel>" cannot ping a channel and
// "*Bold* Ltd" is not bolded; the template's own text is kept as written.
func (a *SlackAction) Render(d notify.Data) (string, error) {
	if a.Text == "" {
		return "", nil
	}
	t := a.tmpl
	if t == nil {
		var err error
		if t, err = parseSlackText("slack", a.Text); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render slack text: %w", err)
	}
	return b.String(), nil
}

// parseSlackText parses text and makes every action in it escape its output.
func parseSlackText(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=zero").
		Funcs(template.FuncMap{escapeFunc: mrkdwnEscape}).Parse(text)
	if err != nil {
		return nil, err
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			escapeList(tt.Tree.Root)
		}
	}
	return t, nil
}

// escapeList appends the escape function to every printing action in l.
func escapeList(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if len(n.Pipe.Decl) == 0 {
				id := parse.NewIdentifier(escapeFunc).SetPos(n.Pos)
				n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{
					NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{id},
				})
			}
		case *parse.IfNode:
			escapeList(n.List)
			escapeList(n.ElseList)
		case *parse.RangeNode:
			escapeList(n.List)
			escapeList(n.ElseList)
		case *parse.WithNode:
			escapeList(n.List)
			escapeList(n.ElseList)
		}
	}
}

// mrkdwnEscape prints v as text/template would and escapes it.
func mrkdwnEscape(v any) string {
	switch v.(type) {
	case nil:
		return ""
	case fmt.Stringer, error:
		return slack.Escape(fmt.Sprint(v))
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return ""
		}
		rv = rv.Elem()
	}
	return slack.Escape(fmt.Sprint(rv.Interface()))
}

// sampleData is what Slack texts are executed against at load time, with
// every pointer set so that only unknown fields fail.
func sampleData() notify.Data {
	n := 42
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return notify.Data{
		Rule: "sample", Description: "sample rule", Severity: SeverityInfo,
		Account: model.Account{
			Ref: model.NewRef("crm", "1"), Name: "Acme", Lifecycle: model.Customer,
			CreatedAt: now, LastActivityAt: now, Extra: map[string]string{},
		},
		Contact:      &model.Contact{Ref: model.NewRef("crm", "2"), FirstName: "Ada", Email: "ada@example.com"},
		Owner:        &model.Owner{Ref: model.NewRef("crm", "3"), Name: "Rep", Email: "rep@example.com"},
		RevenueTrend: 1, DaysInactive: n, DaysSincePurchase: &n, ABC: "A", Now: now,
	}
}

// templateErrRe splits a text/template error into line, column and message.
var templateErrRe = regexp.MustCompile(`^template: [^:]*:(\d+)(?::(\d+))?: (?:executing "[^"]*" )?(.*)$`)

// templateErrPos returns the 1-based line, the 0-based byte column (0 when
// unknown) and the bare message of a text/template error.
func templateErrPos(err error) (line, col int, msg string) {
	m := templateErrRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 1, 0, err.Error()
	}
	line, _ = strconv.Atoi(m[1])
	col, _ = strconv.Atoi(m[2])
	return line, col, m[3]
}
