package rules

import (
	"reflect"
	"slices"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"

	"github.com/crmsync/crmsync/model"
)

// env is what a rule's expression sees. It is a typed struct so that
// unknown names and type mismatches fail when the rule is loaded.
type env struct {
	Account           accountEnv          `expr:"account"`
	Owner             ownerEnv            `expr:"owner"`
	Contacts          []contactEnv        `expr:"contacts"`
	Revenue12m        float64             `expr:"revenue_12m"`
	RevenuePrev12m    float64             `expr:"revenue_prev_12m"`
	RevenueTrend      float64             `expr:"revenue_trend"`
	DaysInactive      int                 `expr:"days_inactive"`
	DaysSincePurchase *int                `expr:"days_since_purchase"`
	Purchases12m      int                 `expr:"purchases_12m"`
	ABC               string              `expr:"abc"`
	ParetoTop         bool                `expr:"pareto_top"`
	PMG               string              `expr:"pmg"`
	RFM               rfmEnv              `expr:"rfm"`
	Lifecycle         string              `expr:"lifecycle"`
	Now               time.Time           `expr:"now"`
	DaysSince         func(time.Time) int `expr:"days_since"`

	srcs []string // backs Account.Sources
}

// accountEnv is the account as expressions see it.
type accountEnv struct {
	ID             string            `expr:"id"`
	Name           string            `expr:"name"`
	Domain         string            `expr:"domain"`
	Lifecycle      string            `expr:"lifecycle"`
	TimeZone       string            `expr:"timezone"`
	CreatedAt      time.Time         `expr:"created_at"`
	LastActivityAt time.Time         `expr:"last_activity_at"`
	Extra          map[string]string `expr:"extra"`
	URL            string            `expr:"url"`
	// Sources names the sources the account comes from: one, or several
	// when merged (config merge).
	Sources []string `expr:"sources"`
}

// rfmEnv is the RFM scores and segment as expressions see them.
type rfmEnv struct {
	R       int    `expr:"r"`
	F       int    `expr:"f"`
	M       int    `expr:"m"`
	Segment string `expr:"segment"`
}

// ownerEnv is the account's owner as expressions see it.
type ownerEnv struct {
	ID    string `expr:"id"`
	Name  string `expr:"name"`
	Email string `expr:"email"`
}

// contactEnv is a contact as expressions see it.
type contactEnv struct {
	ID             string    `expr:"id"`
	Name           string    `expr:"name"`
	Email          string    `expr:"email"`
	OptOut         bool      `expr:"opt_out"`
	Primary        bool      `expr:"primary"`
	Title          string    `expr:"title"`
	LastActivityAt time.Time `expr:"last_activity_at"`
}

// helperNames are the functions expressions may call besides expr's builtins.
var helperNames = []string{"days"}

// compileOptions are the options every rule expression is compiled with.
var compileOptions = []expr.Option{
	expr.Env(env{}),
	expr.AsBool(),
	expr.DisableBuiltin("now"),
	expr.Function("days", days, new(func(int) time.Duration)),
	expr.Patch(nullSafeCompare{}),
}

// days implements days(n): n days as a duration.
func days(params ...any) (any, error) {
	return time.Duration(params[0].(int)) * day, nil
}

// needs tells which parts of the env the rules of a set read, so that
// Evaluate does not build the others. extra: the account's extra fields;
// record: any of its fields but those of a features record
// (featureFields).
type needs struct{ account, owner, contacts, extra, record bool }

// featureFields are the account's fields a features record holds
// (store.FeatureRange): a pass whose rules read no others reads that
// record instead of the account's.
var featureFields = map[string]bool{"id": true, "lifecycle": true, "created_at": true, "last_activity_at": true}

// needsOf returns what the expressions of rules read.
func needsOf(rules []*Rule) needs {
	var v identVisitor
	for _, r := range rules {
		if r.program != nil {
			node := r.program.Node()
			ast.Walk(&node, &v)
		}
	}
	whole := v.accounts > len(v.accountFields) // account used other than by a named field
	v.extra = whole || slices.Contains(v.accountFields, "extra")
	v.record = whole || slices.ContainsFunc(v.accountFields, func(f string) bool { return !featureFields[f] })
	return v.needs
}

// identVisitor records which env parts an expression names. The
// account's extra fields are read unless every use of account is one of
// its other fields (account.lifecycle): accountFields holds the field of
// each such use.
type identVisitor struct {
	needs
	accounts      int
	accountFields []string
}

// Visit implements ast.Visitor.
func (v *identVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		switch n.Value {
		case "account":
			v.account = true
			v.accounts++
		case "owner":
			v.owner = true
		case "contacts":
			v.contacts = true
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		field, named := n.Property.(*ast.StringNode)
		if ok && id.Value == "account" && named {
			v.accountFields = append(v.accountFields, field.Value)
		}
	}
}

// fill sets e from client c and its features f, building only the parts
// in n and reusing e's contact slice.
func (e *env) fill(n needs, now time.Time, c *model.Client, f *Features) {
	a := &c.Account
	if n.account {
		e.fillAccount(a)
	}
	if n.owner {
		e.fillOwner(c.Owner)
	}
	if n.contacts {
		e.fillContacts(c.Contacts)
	}
	e.Revenue12m, e.RevenuePrev12m, e.RevenueTrend = f.Revenue12m, f.RevenuePrev12m, f.RevenueTrend
	e.DaysInactive, e.DaysSincePurchase = f.DaysInactive, f.DaysSincePurchase
	e.Purchases12m, e.ABC, e.ParetoTop, e.PMG = f.Purchases12m, f.ABC, f.ParetoTop, f.PMG
	e.RFM = rfmEnv{R: f.RFM.R, F: f.RFM.F, M: f.RFM.M, Segment: f.RFM.Segment}
	e.Lifecycle, e.Now = string(a.Lifecycle), now
}

// fillAccount sets e.Account from a.
func (e *env) fillAccount(a *model.Account) {
	e.Account = accountEnv{
		ID: a.ID, Name: a.Name, Domain: a.Domain, Lifecycle: string(a.Lifecycle),
		TimeZone: a.TimeZone, CreatedAt: a.CreatedAt, LastActivityAt: a.LastActivityAt,
		Extra: a.Extra, URL: a.URL, Sources: e.sources(a),
	}
}

// sources lists the sources of a, reusing e's slice.
func (e *env) sources(a *model.Account) []string {
	e.srcs = e.srcs[:0]
	if len(a.Sources) == 0 {
		return append(e.srcs, a.Source)
	}
	for _, r := range a.Sources {
		e.srcs = append(e.srcs, r.Source)
	}
	return e.srcs
}

// fillOwner sets e.Owner from o, to zero values when o is nil.
func (e *env) fillOwner(o *model.Owner) {
	e.Owner = ownerEnv{}
	if o != nil {
		e.Owner = ownerEnv{ID: o.ID, Name: o.Name, Email: o.Email}
	}
}

// fillContacts sets e.Contacts from cs, reusing the slice.
func (e *env) fillContacts(cs []model.Contact) {
	e.Contacts = e.Contacts[:0]
	for i := range cs {
		ct := &cs[i]
		e.Contacts = append(e.Contacts, contactEnv{
			ID: ct.ID, Name: ct.Name(), Email: ct.Email, OptOut: ct.OptOut,
			Primary: ct.Primary, Title: ct.Title, LastActivityAt: ct.LastActivityAt,
		})
	}
}

// nullSafeCompare rewrites every ordering comparison (<, <=, >, >=) with
// an operand that may be nil, such as days_since_purchase, into
// `operand != nil && comparison`, so that it is false for nil instead of a
// runtime error.
type nullSafeCompare struct{}

// Visit implements ast.Visitor.
func (nullSafeCompare) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || !isOrdering(b.Operator) {
		return
	}
	guard := func(operand ast.Node) ast.Node {
		check := &ast.BinaryNode{Operator: "!=", Left: operand, Right: &ast.NilNode{}}
		check.SetLocation(operand.Location())
		and := &ast.BinaryNode{Operator: "&&", Left: check, Right: *node}
		and.SetLocation(b.Location())
		return and
	}
	if nilable(b.Right) {
		ast.Patch(node, guard(b.Right))
	}
	if nilable(b.Left) {
		ast.Patch(node, guard(b.Left))
	}
}

// isOrdering reports whether op is an ordering comparison.
func isOrdering(op string) bool {
	return op == "<" || op == "<=" || op == ">" || op == ">="
}

// nilable reports whether n's type is a pointer.
func nilable(n ast.Node) bool {
	t := n.Type()
	return t != nil && t.Kind() == reflect.Pointer
}
