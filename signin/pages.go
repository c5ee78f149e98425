package signin

import (
	"html/template"
	"net/http"
)

// The pages the callbacks answer with. What they show from the request is escaped by
// html/template: a callback's error_description is attacker-controlled text.
var (
	pageSignedIn   = page("Signed in", "Signed in{{with .}} as {{.}}{{end}}. You can close this window.")
	pageFailed     = page("Sign-in failed", "The sign-in failed: {{.}}")
	pageWrongState = page("Not this sign-in", "This link does not belong to the sign-in in progress (it is old, used, or forged). Nothing was changed.")
)

func page(title, body string) *template.Template {
	return template.Must(template.New(title).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>` + title + `</title></head>
<body><h1>` + title + `</h1><p>` + body + `</p></body></html>
`))
}

func writePage(w http.ResponseWriter, status int, t *template.Template, data string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = t.Execute(w, data)
}
