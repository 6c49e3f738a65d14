package slack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"opsbot/chat"
	"opsbot/commands"
)

const (
	// outputFile carries command output too long for Block Kit.
	outputFile = "output.txt"
	// maxUpload is the largest file Slack takes (1 GB).
	maxUpload = 1 << 30
	// inlineLines is how much of a text file a message shows when the file
	// itself could not be sent.
	inlineLines = 40
)

// Strings users read, kept together for translation.
const (
	msgAttached    = "output (%d lines) attached as %s"
	msgNotAttached = "not attached: %s (%s)"
	msgShownInline = "the first %d lines are shown"
	msgTooLarge    = "larger than Slack takes"
)

// attachLong moves code too long for Block Kit (more than maxCodeBlocks
// sections) into output.txt, uploaded with the message; the message shows
// the first lines and says where the rest is.
func attachLong(m chat.Message) chat.Message {
	if m.Code == "" || len(codeBlocks(m.Code)) <= maxCodeBlocks {
		return m
	}
	lines := strings.Count(strings.TrimRight(m.Code, "\n"), "\n") + 1
	m.Files = append(slices.Clone(m.Files), chat.File{Name: outputFile, Mime: "text/plain", Data: []byte(m.Code)})
	m.Code = chat.HeadLines(m.Code, inlineLines)
	m.Context = joinNote(m.Context, fmt.Sprintf(msgAttached, lines, outputFile))
	return m
}

// longToFile is attachLong for an answer. An ephemeral answer's files go
// to the user's direct message with opsbot (filesToDM), since Slack shows
// no file in a message only one user sees.
func longToFile(resp commands.Response) commands.Response {
	resp.Message = attachLong(resp.Message)
	return resp
}

// sendFile uploads one file; when it cannot be (too large, refused), the
// channel is told in the file's thread, with the file's first lines, so a
// reply never claims an attachment that is not there. The message is out
// already, so these few attempts are the file's only retry.
func (p *Poster) sendFile(ctx context.Context, channel, thread string, f chat.File) {
	retry := func(fn func() error) error { return retryReply(ctx, fn) }
	var err error
	if len(f.Data) > maxUpload {
		err = errors.New(msgTooLarge)
	} else {
		err = retry(func() error { return p.upload(ctx, channel, thread, f) })
	}
	if err == nil {
		return
	}
	p.a.log.Error("slack file not uploaded", "file", f.Name, "channel", channel, "err", err)
	m := chat.Message{Severity: chat.SevWarning, Text: fmt.Sprintf(msgNotAttached, f.Name, uploadReason(err))}
	if f.IsText() {
		m.Code = chat.HeadLines(string(f.Data), inlineLines)
		m.Context = fmt.Sprintf(msgShownInline, inlineLines)
	}
	perr := retry(func() error { _, err := p.post(ctx, channel, thread, m); return err })
	if perr != nil {
		p.a.log.Error("slack notice of a lost file not posted", "file", f.Name, "channel", channel, "err", perr)
	}
}

// uploadReason is a short reason fit for chat: Slack's error code, never
// the request.
func uploadReason(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return "Slack: " + se.Err
	}
	if err.Error() == msgTooLarge {
		return msgTooLarge
	}
	return "upload failed"
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + " · " + b
}
