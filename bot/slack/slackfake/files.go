package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

func (s *Server) getUploadURL(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	n := 0
	fmt.Sscan(f.Get("length"), &n)
	if f.Get("filename") == "" || n <= 0 {
		slackErr(w, "invalid_arguments")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("F%04d", len(s.fileOrder)+1)
	s.files[id] = &File{ID: id, Name: f.Get("filename"), Length: n}
	s.fileOrder = append(s.fileOrder, id)
	s.bump()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "upload_url": s.srv.URL + "/upload/" + id, "file_id": id})
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		http.Error(w, "want multipart", http.StatusBadRequest)
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var data []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, "bad multipart", http.StatusBadRequest)
			return
		}
		if p.FormName() == "file" {
			data, _ = io.ReadAll(p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok {
		http.Error(w, "unknown file", http.StatusNotFound)
		return
	}
	f.Data = data
	f.UploadedBodySize = len(data)
	s.bump()
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "OK - "+fmt.Sprint(len(data)))
}

func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(f.Get("files")), &files); err != nil || len(files) == 0 {
		slackErr(w, "invalid_arguments")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := f.Get("channel_id")
	if s.missing[ch] || (strings.HasPrefix(ch, "D") && s.dms[ch] == "") {
		// As for posts: a DM channel exists only once conversations.open made it.
		slackErr(w, "channel_not_found")
		return
	}
	out := []map[string]any{}
	for _, x := range files {
		file, ok := s.files[x.ID]
		if !ok || file.Data == nil {
			slackErr(w, "file_not_found")
			return
		}
		file.Title, file.Channel, file.ThreadTS, file.Completed = x.Title, ch, f.Get("thread_ts"), true
		out = append(out, map[string]any{"id": x.ID, "title": x.Title})
	}
	s.bump()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "files": out})
}
