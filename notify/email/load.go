package email

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"regexp"
	"strings"
	texttemplate "text/template"

	"github.com/crmsync/crmsync/templates"
)

// dir is the folder, in templates.FS and in an overrides folder, that holds
// email templates.
const dir = "email"

// File name suffixes of the two parts of a template.
const (
	txtSuffix  = ".txt.tmpl"
	htmlSuffix = ".html.tmpl"
)

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// fileSet is where the parts of one template come from.
type fileSet struct {
	fsys     fs.FS
	txtPath  string
	htmlPath string // "": text-only
}

// collect lists the templates of the built-ins and of overrides, a name in
// overrides replacing the built-in set of the same name.
func collect(overrides fs.FS) (map[string]fileSet, error) {
	sets, err := scan(templates.FS)
	if err != nil {
		return nil, fmt.Errorf("built-in templates: %w", err)
	}
	if overrides == nil {
		return sets, nil
	}
	over, err := scan(overrides)
	if err != nil {
		return nil, err
	}
	for name, s := range over {
		sets[name] = s
	}
	return sets, nil
}

// scan lists the templates in fsys/email. A missing folder holds none.
func scan(fsys fs.FS) (map[string]fileSet, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]fileSet{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	sets := make(map[string]fileSet)
	for _, e := range entries {
		if err := add(sets, fsys, e); err != nil {
			return nil, err
		}
	}
	for name, s := range sets {
		if s.txtPath == "" {
			return nil, fmt.Errorf("%s: no %s%s beside it (it defines the subject)", s.htmlPath, name, txtSuffix)
		}
	}
	return sets, nil
}

// add records the template file e in sets. Files that are not templates are
// ignored; a .tmpl file with a bad name is an error, not silently skipped.
func add(sets map[string]fileSet, fsys fs.FS, e fs.DirEntry) error {
	file := e.Name()
	if e.IsDir() || !strings.HasSuffix(file, ".tmpl") {
		return nil
	}
	p := path.Join(dir, file)
	name, isHTML := strings.CutSuffix(file, htmlSuffix)
	ok := isHTML
	if !isHTML {
		name, ok = strings.CutSuffix(file, txtSuffix)
	}
	if !ok || !validName.MatchString(name) {
		return fmt.Errorf("%s: want a name of [a-z0-9_-] ending in %s or %s", p, txtSuffix, htmlSuffix)
	}
	s := sets[name]
	s.fsys = fsys
	if isHTML {
		s.htmlPath = p
	} else {
		s.txtPath = p
	}
	sets[name] = s
	return nil
}

// parse parses the parts of s and checks that they define what is needed.
func (s fileSet) parse() (*tmpl, error) {
	t := &tmpl{txtPath: s.txtPath, htmlPath: s.htmlPath}
	src, err := fs.ReadFile(s.fsys, s.txtPath)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.txtPath, err)
	}
	t.text, err = texttemplate.New(path.Base(s.txtPath)).Funcs(templates.Funcs()).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", s.txtPath, err)
	}
	if err := defines(t.text.Lookup, s.txtPath, "subject", "text"); err != nil {
		return nil, err
	}
	if s.htmlPath == "" {
		return t, nil
	}
	if src, err = fs.ReadFile(s.fsys, s.htmlPath); err != nil {
		return nil, fmt.Errorf("read %s: %w", s.htmlPath, err)
	}
	t.html, err = htmltemplate.New(path.Base(s.htmlPath)).Funcs(templates.Funcs()).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", s.htmlPath, err)
	}
	return t, defines(t.html.Lookup, s.htmlPath, "html")
}

// defines checks that lookup finds every one of names in the file p.
func defines[T any](lookup func(string) *T, p string, names ...string) error {
	for _, n := range names {
		if lookup(n) == nil {
			return fmt.Errorf("parse %s: no {{define %q}}", p, n)
		}
	}
	return nil
}
