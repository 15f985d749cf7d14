package auth

import (
	"bytes"
	"html/template"
	"net/http"
)

// page is one of the small pages auth shows: sign-in, refusals, errors.
type page struct {
	Title string
	Lines []string
	User  *User // "Signed in as", when known
	Form  *form
	Link  *link
}

type form struct {
	Action string
	Button string
	Fields map[string]string // hidden inputs
}

type link struct {
	Href string
	Text string
}

// pageTemplates renders pages; html/template escapes every value (a
// Slack name like <script>alert(1)</script> shows as text).
var pageTemplates = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · crmsync</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#1d1d1f}
h1{font-size:1.4rem}
button{font-size:1rem;padding:.55rem 1.1rem;border:1px solid #4a154b;border-radius:.4rem;background:#4a154b;color:#fff;cursor:pointer}
.who{color:#555}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{range .Lines}}<p>{{.}}</p>
{{end}}{{with .User}}<p class="who">Signed in as {{.Name}} ({{.Email}})</p>
{{end}}{{with .Form}}<form method="post" action="{{.Action}}">
{{range $name, $value := .Fields}}<input type="hidden" name="{{$name}}" value="{{$value}}">
{{end}}<button type="submit">{{.Button}}</button>
</form>
{{end}}{{with .Link}}<p><a href="{{.Href}}">{{.Text}}</a></p>
{{end}}</main>
</body>
</html>
`))

// render writes p with status.
func (a *Auth) render(w http.ResponseWriter, status int, p page) {
	var buf bytes.Buffer
	if err := a.pages.Execute(&buf, p); err != nil {
		a.opts.Logger.Error("auth: rendering page", "title", p.Title, "err", err)
		http.Error(w, p.Title, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
