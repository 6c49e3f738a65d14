package discordfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf16"
)

// Discord's limits on a message, as its API enforces them.
const (
	MaxContent    = 2000
	MaxEmbeds     = 10
	MaxEmbedTotal = 6000
	MaxFiles      = 10
	// MaxUpload is the most a request may upload in all (bots without a
	// boosted server): more is refused with 413 and code 40005.
	MaxUpload = 10 << 20
)

// payload is a message body as bots send it (JSON or multipart payload_json).
type payload struct {
	Type            int              `json:"type"` // interaction callbacks only
	Data            *payload         `json:"data"`
	Content         *string          `json:"content"`
	Embeds          *[]Embed         `json:"embeds"`
	Components      *[]Component     `json:"components"`
	Nonce           json.RawMessage  `json:"nonce"`
	EnforceNonce    bool             `json:"enforce_nonce"`
	Flags           int              `json:"flags"`
	Attachments     *[]attachment    `json:"attachments"`
	AllowedMentions *allowedMentions `json:"allowed_mentions"`
	Name            string           `json:"name"`
	Title           string           `json:"title"`
	CustomID        string           `json:"custom_id"`
	Archive         int              `json:"auto_archive_duration"`
	// Choices answer an autocomplete interaction (type 8).
	Choices *[]json.RawMessage `json:"choices"`
}

// attachment is an entry of a payload's attachments: a file uploaded with
// the request (id = the n of its files[n] part) or one the message keeps
// (id = its snowflake).
type attachment struct {
	ID       json.RawMessage `json:"id"`
	Filename string          `json:"filename"`
}

type allowedMentions struct {
	Parse       []string `json:"parse"`
	Users       []string `json:"users"`
	Roles       []string `json:"roles"`
	RepliedUser bool     `json:"replied_user"`
}

// apiError is a refusal in Discord's shape.
type apiError struct {
	status int
	body   map[string]any
}

func (e *apiError) Error() string { return fmt.Sprint(e.body["message"]) }

// formError is Discord's 50035 Invalid Form Body with its errors tree at
// path (dotted, e.g. "embeds.0.description").
func formError(path, code, msg string) *apiError {
	var tree any = map[string]any{"_errors": []any{map[string]any{"code": code, "message": msg}}}
	parts := strings.Split(path, ".")
	for i := len(parts) - 1; i >= 0; i-- {
		tree = map[string]any{parts[i]: tree}
	}
	return &apiError{status: 400, body: map[string]any{"code": 50035, "message": "Invalid Form Body", "errors": tree}}
}

// fileSeq numbers uploaded files (their attachment ids).
var fileSeq atomic.Uint64

var filePart = regexp.MustCompile(`^files\[(\d+)\]$`)

// readPayload reads a JSON or multipart body and checks it as Discord
// does. Files are returned by the n of their files[n] part.
func readPayload(r *http.Request) (*payload, []File, error) {
	var p payload
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		mr := multipart.NewReader(r.Body, params["boundary"])
		var files []File
		sawJSON, total := false, 0
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, err
			}
			b, err := io.ReadAll(part)
			if err != nil {
				return nil, nil, err
			}
			name := part.FormName()
			switch m := filePart.FindStringSubmatch(name); {
			case name == "payload_json":
				if err := json.Unmarshal(b, &p); err != nil {
					return nil, nil, formError("payload_json", "MODEL_TYPE_CONVERT", "Could not interpret payload_json as JSON.")
				}
				sawJSON = true
			case m != nil:
				n, _ := strconv.Atoi(m[1])
				total += len(b)
				id := strconv.FormatUint(1300000000000000000+fileSeq.Add(1), 10)
				files = append(files, File{ID: id, Name: part.FileName(), Data: b, index: n})
			default:
				return nil, nil, formError(name, "UNKNOWN_FIELD", "Unknown form field "+name)
			}
		}
		if !sawJSON {
			return nil, nil, formError("payload_json", "BASE_TYPE_REQUIRED", "This field is required")
		}
		if total > MaxUpload {
			return nil, nil, &apiError{status: http.StatusRequestEntityTooLarge, body: map[string]any{"code": 40005, "message": "Request entity too large"}}
		}
		if err := check(&p, files); err != nil {
			return nil, nil, err
		}
		return &p, files, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, err
	}
	if len(b) == 0 {
		return &p, nil, nil
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, nil, err
	}
	if err := check(&p, nil); err != nil {
		return nil, nil, err
	}
	return &p, nil, nil
}

// check applies Discord's validation of a message body (or an interaction
// callback's data).
func check(p *payload, files []File) error {
	if p.Type == 9 {
		return checkModal(p.Data)
	}
	if p.Data != nil {
		if err := check(p.Data, files); err != nil {
			return err
		}
	}
	if len(files) > MaxFiles {
		return formError("files", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxFiles))
	}
	if p.Content != nil && ulen(*p.Content) > MaxContent {
		return formError("content", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxContent))
	}
	if p.Embeds != nil {
		if err := checkEmbeds(*p.Embeds); err != nil {
			return err
		}
	}
	if p.Components != nil {
		if err := checkComponents(*p.Components); err != nil {
			return err
		}
	}
	if am := p.AllowedMentions; am != nil {
		for i, t := range am.Parse {
			if t != "users" && t != "roles" && t != "everyone" {
				return formError(fmt.Sprintf("allowed_mentions.parse.%d", i), "ENUM_TYPE_COERCE", fmt.Sprintf("Value %q is not a valid enum value.", t))
			}
			if (t == "users" && len(am.Users) > 0) || (t == "roles" && len(am.Roles) > 0) {
				return formError("allowed_mentions", "SET_TYPE_ALREADY_CONTAINS_VALUE", "parse:["+t+"] and "+t+": [ids] are mutually exclusive.")
			}
		}
		if len(am.Users) > 100 || len(am.Roles) > 100 {
			return formError("allowed_mentions", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
		}
	}
	if p.Attachments != nil {
		for i, a := range *p.Attachments {
			n, isIndex := uploadIndex(a.ID)
			if isIndex && !hasIndex(files, n) {
				// Metadata for a file the request did not carry: the lost
				// attachment Discord refuses.
				return formError(fmt.Sprintf("attachments.%d", i), "ATTACHMENT_NOT_FOUND", "Attachment data not found")
			}
		}
	}
	if p.Choices != nil && len(*p.Choices) > 25 {
		return formError("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	return nil
}

func checkEmbeds(es []Embed) error {
	if len(es) > MaxEmbeds {
		return formError("embeds", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxEmbeds))
	}
	total := 0
	for i, e := range es {
		at := func(f string) string { return fmt.Sprintf("embeds.%d.%s", i, f) }
		max := func(f string, s string, n int) error {
			if ulen(s) > n {
				return formError(at(f), "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", n))
			}
			return nil
		}
		footer := ""
		if e.Footer != nil {
			footer = e.Footer.Text
		}
		if err := firstErr(max("title", e.Title, 256), max("description", e.Description, 4096), max("footer.text", footer, 2048)); err != nil {
			return err
		}
		if len(e.Fields) > 25 {
			return formError(at("fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
		}
		total += ulen(e.Title) + ulen(e.Description) + ulen(footer)
		for j, f := range e.Fields {
			if f.Name == "" || f.Value == "" {
				return formError(at(fmt.Sprintf("fields.%d", j)), "BASE_TYPE_REQUIRED", "This field is required")
			}
			if err := firstErr(max(fmt.Sprintf("fields.%d.name", j), f.Name, 256), max(fmt.Sprintf("fields.%d.value", j), f.Value, 1024)); err != nil {
				return err
			}
			total += ulen(f.Name) + ulen(f.Value)
		}
	}
	if total > MaxEmbedTotal {
		return formError("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
	}
	return nil
}

func checkComponents(rows []Component) error {
	if len(rows) > 5 {
		return formError("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
	}
	seen := map[string]bool{}
	for i, row := range rows {
		if row.Type != 1 {
			return formError(fmt.Sprintf("components.%d", i), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
		}
		if len(row.Components) == 0 || len(row.Components) > 5 {
			return formError(fmt.Sprintf("components.%d.components", i), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
		}
		for j, c := range row.Components {
			at := fmt.Sprintf("components.%d.components.%d", i, j)
			if c.Type == 2 && (c.CustomID == "" || len(c.CustomID) > 100) {
				return formError(at+".custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
			}
			if ulen(c.Label) > 80 {
				return formError(at+".label", "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length.")
			}
			if c.CustomID != "" && seen[c.CustomID] {
				return formError(at+".custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
			}
			seen[c.CustomID] = true
		}
	}
	return nil
}

// uploadIndex reads an attachment id that names a files[n] part of the
// request (a small number) rather than a kept attachment (a snowflake).
func uploadIndex(raw json.RawMessage) (int, bool) {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= 1000 {
		return 0, false
	}
	return n, true
}

func hasIndex(files []File, n int) bool {
	for _, f := range files {
		if f.index == n {
			return true
		}
	}
	return false
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func ulen(s string) int { return len(utf16.Encode([]rune(s))) }

func badRequest(w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSON(w, ae.status, ae.body)
		return
	}
	writeJSON(w, 400, map[string]any{"message": "Invalid Form Body: " + err.Error(), "code": 50035})
}

// apply writes a payload onto a message. A new message takes every file
// uploaded with it. An edit that lists attachments keeps exactly those
// listed (API v10): kept files by id, new files by their files[n] index; a
// file uploaded but not listed is not attached. An edit without the list
// keeps the old files and adds the new.
func apply(m *Message, p *payload, files []File, edit bool) {
	if p.Content != nil {
		m.Content = *p.Content
	}
	if p.Embeds != nil {
		m.Embeds = *p.Embeds
	}
	if p.Components != nil {
		m.Components = *p.Components
	}
	if p.Flags != 0 {
		m.Flags = p.Flags
	}
	if p.AllowedMentions != nil || !edit {
		m.allowed = p.AllowedMentions
	}
	if !edit || p.Attachments == nil {
		m.Files = append(m.Files, files...)
		return
	}
	var keep []File
	for _, a := range *p.Attachments {
		if n, ok := uploadIndex(a.ID); ok {
			for _, f := range files {
				if f.index == n {
					keep = append(keep, f)
				}
			}
			continue
		}
		id := strings.Trim(string(a.ID), `"`)
		for _, f := range m.Files {
			if f.ID == id {
				keep = append(keep, f)
			}
		}
	}
	m.Files = keep
}

func empty(p *payload, files []File) bool {
	return (p.Content == nil || *p.Content == "") && (p.Embeds == nil || len(*p.Embeds) == 0) && len(files) == 0 &&
		(p.Components == nil || len(*p.Components) == 0)
}

// checkModal applies Discord's rules for a modal (interaction response 9).
func checkModal(d *payload) error {
	if d == nil {
		return formError("data", "BASE_TYPE_REQUIRED", "This field is required")
	}
	if d.Title == "" || ulen(d.Title) > 45 {
		return formError("data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
	}
	if d.CustomID == "" || len(d.CustomID) > 100 {
		return formError("data.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
	}
	if d.Components == nil || len(*d.Components) == 0 || len(*d.Components) > 5 {
		return formError("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
	}
	seen := map[string]bool{}
	for i, row := range *d.Components {
		at := fmt.Sprintf("data.components.%d", i)
		if row.Type != 1 || len(row.Components) != 1 || row.Components[0].Type != 4 {
			return formError(at, "UNION_TYPE_CHOICES", "A modal row holds exactly one text input.")
		}
		ti := row.Components[0]
		switch {
		case ti.CustomID == "" || len(ti.CustomID) > 100 || seen[ti.CustomID]:
			return formError(at+".components.0.custom_id", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length and unique.")
		case ti.Label == "" || ulen(ti.Label) > 45:
			return formError(at+".components.0.label", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
		case ti.Style != 1 && ti.Style != 2:
			return formError(at+".components.0.style", "ENUM_TYPE_COERCE", "Value is not a valid enum value.")
		case ti.MaxLength > 4000 || (ti.MaxLength > 0 && ulen(ti.Value) > ti.MaxLength):
			return formError(at+".components.0.value", "BASE_TYPE_MAX_LENGTH", "Must be 4000 or fewer in length.")
		}
		seen[ti.CustomID] = true
	}
	return nil
}
