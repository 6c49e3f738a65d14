package slack

import (
	"context"
	"fmt"
	"strings"

	"opsbot/chat"
	"opsbot/commands"
)

// Strings users read, kept together for translation.
const (
	msgSentToDM    = "%s sent to you in your direct messages with opsbot"
	msgNotSentToDM = "%s could not be sent to your direct messages (%s): run it again with --public to post it in the channel"
)

// filesToDM delivers the files of an answer only its requester sees, as
// Slack users expect: an ephemeral message takes no file, and uploading
// to the channel would show it to everyone, so the files go to the user's
// direct message with opsbot (conversations.open, then the upload into
// it), and the answer says so — or says why not. Anything else passes
// through unchanged.
func (t *target) filesToDM(ctx context.Context, resp commands.Response) commands.Response {
	if !resp.Ephemeral || len(resp.Files) == 0 || t.user == "" {
		return resp
	}
	p := t.a.Poster()
	names := make([]string, len(resp.Files))
	for i, f := range resp.Files {
		names[i] = f.Name
	}
	what := strings.Join(names, ", ")
	dm, err := p.OpenDM(ctx, t.user)
	var failed []string
	if err == nil {
		for _, f := range resp.Files {
			if len(f.Data) > maxUpload {
				failed = append(failed, f.Name+": "+msgTooLarge)
				continue
			}
			if uerr := retryReply(ctx, func() error { return p.upload(ctx, dm, "", f) }); uerr != nil {
				t.a.log.Error("slack private file not uploaded", "file", f.Name, "err", uerr)
				failed = append(failed, f.Name+": "+uploadReason(uerr))
			}
		}
	} else {
		t.a.log.Error("slack direct message not opened for private files", "err", err)
		failed = append(failed, uploadReason(err))
	}
	note := fmt.Sprintf(msgSentToDM, what)
	if len(failed) > 0 {
		note = fmt.Sprintf(msgNotSentToDM, what, strings.Join(failed, "; "))
		if f := firstText(resp.Files); f != nil && resp.Code == "" {
			// Show the start where the file could not go.
			resp.Code = chat.HeadLines(string(f.Data), inlineLines)
		}
	}
	resp.Context = joinNote(resp.Context, note)
	resp.Files = nil
	return resp
}

func firstText(fs []chat.File) *chat.File {
	for i := range fs {
		if fs[i].IsText() {
			return &fs[i]
		}
	}
	return nil
}
