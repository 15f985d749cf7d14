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

	"github.com/crmsync/crmsync/notify/locale"
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

// builtinLang is the language of the built-in templates' unsuffixed
// files.
const builtinLang = locale.English

var (
	validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	validLang = regexp.MustCompile(`^[a-z]{2,3}$`)
)

// fileSet is where the parts of one language of a template come from.
type fileSet struct {
	fsys     fs.FS
	txtPath  string
	htmlPath string // "": text-only
}

// langSets are the languages of one template: "" is the default
// (unsuffixed) files, others the translations ("fr" for NAME.fr.*).
type langSets map[string]fileSet

// collected is every template found: its languages, and the language of
// its default files ("" when unknown: a user's own, written in the
// configured locale).
type collected struct {
	langs       langSets
	defaultLang string
}

// collect lists the templates of the built-ins and of overrides. A user's
// default files for a name replace the built-in template of that name
// with all its translations (they translate the built-in text, not the
// user's); a user's translation alone replaces or adds that language.
func collect(overrides fs.FS) (map[string]collected, error) {
	builtin, err := scan(templates.FS)
	if err != nil {
		return nil, fmt.Errorf("built-in templates: %w", err)
	}
	out := make(map[string]collected, len(builtin))
	for name, ls := range builtin {
		out[name] = collected{langs: ls, defaultLang: builtinLang}
	}
	if overrides != nil {
		over, err := scan(overrides)
		if err != nil {
			return nil, err
		}
		for name, ls := range over {
			c, ok := out[name]
			if _, hasDefault := ls[""]; !ok || hasDefault {
				out[name] = collected{langs: ls}
				continue
			}
			for lang, s := range ls {
				c.langs[lang] = s
			}
		}
	}
	for name, c := range out {
		if _, ok := c.langs[""]; ok {
			continue
		}
		for _, s := range c.langs {
			return nil, fmt.Errorf("%s: no %s%s (the default language): a translation needs the template it translates", s.txtPath, name, txtSuffix)
		}
	}
	return out, nil
}

// scan lists the templates in fsys/email. A missing folder holds none.
func scan(fsys fs.FS) (map[string]langSets, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]langSets{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	sets := make(map[string]langSets)
	for _, e := range entries {
		if err := add(sets, fsys, e); err != nil {
			return nil, err
		}
	}
	for name, ls := range sets {
		for lang, s := range ls {
			if s.txtPath == "" {
				return nil, fmt.Errorf("%s: no %s%s beside it (it defines the subject)", s.htmlPath, fileBase(name, lang), txtSuffix)
			}
		}
	}
	return sets, nil
}

// fileBase is the file name of template name in lang, without suffix.
func fileBase(name, lang string) string {
	if lang == "" {
		return name
	}
	return name + "." + lang
}

// add records the template file e in sets. Files that are not templates are
// ignored; a .tmpl file with a bad name is an error, not silently skipped.
func add(sets map[string]langSets, fsys fs.FS, e fs.DirEntry) error {
	file := e.Name()
	if e.IsDir() || !strings.HasSuffix(file, ".tmpl") {
		return nil
	}
	p := path.Join(dir, file)
	base, isHTML := strings.CutSuffix(file, htmlSuffix)
	ok := isHTML
	if !isHTML {
		base, ok = strings.CutSuffix(file, txtSuffix)
	}
	name, lang, _ := strings.Cut(base, ".")
	if !ok || !validName.MatchString(name) || strings.Contains(base, ".") && !validLang.MatchString(lang) {
		return fmt.Errorf("%s: want a name of [a-z0-9_-], then optionally a language (.fr), ending in %s or %s", p, txtSuffix, htmlSuffix)
	}
	if sets[name] == nil {
		sets[name] = langSets{}
	}
	s := sets[name][lang]
	s.fsys = fsys
	if isHTML {
		s.htmlPath = p
	} else {
		s.txtPath = p
	}
	sets[name][lang] = s
	return nil
}

// parse parses the parts of s and checks that they define what is needed.
// The templates are kept unexecuted: each rendering works on a clone with
// the functions bound to its data (see Renderer.Render).
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
