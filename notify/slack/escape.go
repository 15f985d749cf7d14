package slack

import (
	"strings"
	"unicode/utf8"
)

// zwsp is U+200B ZERO WIDTH SPACE.
const zwsp = "\u200b"

// controlEscaper replaces Slack's three control characters with the only
// entities Slack decodes.
var controlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// nameEscaper also neutralises mrkdwn's formatting characters.
//
// mrkdwn has no backslash escape (see slackhq/slack-api-docs#34): the
// documented choices are plain_text objects, code spans or accepting the
// formatting. A code span cannot hold a backtick and changes how a name
// looks, so each formatting character is instead fenced with U+200B ZERO
// WIDTH SPACE on both sides. Slack opens bold, italic, strike or code only
// on a delimiter preceded by a boundary and followed by a non-space, and
// closes it only on the mirror of that: with an invisible character on both
// sides one of the two conditions fails whether Slack counts U+200B as space
// or as a word character, so `*Bold* Ltd` shows as typed. The characters
// stay in the text, so reading it or searching for it still works. A leading
// ">" (quote) is covered by the &gt; escape.
var nameEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"*", zwsp+"*"+zwsp, "_", zwsp+"_"+zwsp, "~", zwsp+"~"+zwsp, "`", zwsp+"`"+zwsp,
)

// Escape makes a CRM-supplied string safe to insert in mrkdwn: it escapes
// &, < and > (so <!channel>, <@U123> and <http://…|links> are shown, not
// acted on) and neutralises the formatting characters *, _, ~ and ` (so a
// company called "*Bold* Ltd" is not shown in bold).
func Escape(s string) string {
	return nameEscaper.Replace(s)
}

// escapeControl escapes only &, < and >: for text whose author may use
// mrkdwn formatting, such as a rule's custom line.
func escapeControl(s string) string {
	return controlEscaper.Replace(s)
}

// escapeName escapes a name for mrkdwn, on one line.
func escapeName(s string) string {
	return Escape(strings.Join(strings.Fields(s), " "))
}

// truncate shortens escaped text s to at most max characters, ending it
// with "…" when cut. It never cuts an entity such as &amp; in two.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	runes := []rune(s)[:max-1]
	cut := string(runes)
	if amp := strings.LastIndexByte(cut, '&'); amp >= 0 && len(cut)-amp < len("&amp;") && !strings.Contains(cut[amp:], ";") {
		cut = cut[:amp]
	}
	return cut + "…"
}
