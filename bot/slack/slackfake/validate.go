package slackfake

import (
	"encoding/json"
	"unicode/utf8"
)

// Slack's limits on a message, as chat.postMessage, chat.update and
// response_url enforce them.
const (
	MaxText        = 40000 // characters of text
	MaxBlocks      = 50
	MaxSectionText = 3000
	MaxHeaderText  = 150
	MaxFieldText   = 2000
	MaxFields      = 10
	MaxAttachments = 100
)

type textObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type block struct {
	Type     string    `json:"type"`
	BlockID  string    `json:"block_id"`
	Text     *textObj  `json:"text"`
	Fields   []textObj `json:"fields"`
	Elements []struct {
		Type     string `json:"type"`
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		// Text is a button's text object or a context element's string.
		Text json.RawMessage `json:"text"`
	} `json:"elements"`
}

// checkMessage returns the Slack error code for a message Slack would
// refuse, or "".
func checkMessage(text, blocks, attachments string) string {
	if utf8.RuneCountInString(text) > MaxText {
		return "msg_too_long"
	}
	if blocks != "" {
		if code := checkBlocks([]byte(blocks)); code != "" {
			return code
		}
	}
	if attachments != "" {
		var atts []struct {
			Blocks json.RawMessage `json:"blocks"`
		}
		if json.Unmarshal([]byte(attachments), &atts) != nil {
			return "invalid_attachments"
		}
		if len(atts) > MaxAttachments {
			return "too_many_attachments"
		}
		for _, a := range atts {
			if len(a.Blocks) > 0 {
				if code := checkBlocks(a.Blocks); code != "" {
					return code
				}
			}
		}
	}
	return ""
}

func checkBlocks(raw []byte) string {
	var bs []block
	if json.Unmarshal(raw, &bs) != nil {
		return "invalid_blocks_format"
	}
	if len(bs) > MaxBlocks {
		return "invalid_blocks"
	}
	blockIDs := map[string]bool{}
	for _, b := range bs {
		if b.BlockID != "" {
			if blockIDs[b.BlockID] {
				return "invalid_blocks"
			}
			blockIDs[b.BlockID] = true
		}
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || utf8.RuneCountInString(b.Text.Text) > MaxHeaderText {
				return "invalid_blocks"
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				return "invalid_blocks"
			}
			if b.Text != nil && (b.Text.Text == "" || utf8.RuneCountInString(b.Text.Text) > MaxSectionText) {
				return "invalid_blocks"
			}
			if len(b.Fields) > MaxFields {
				return "invalid_blocks"
			}
			for _, f := range b.Fields {
				if f.Text == "" || utf8.RuneCountInString(f.Text) > MaxFieldText {
					return "invalid_blocks"
				}
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > 25 {
				return "invalid_blocks"
			}
			ids := map[string]bool{}
			for _, e := range b.Elements {
				if e.ActionID != "" && ids[e.ActionID] {
					return "invalid_blocks"
				}
				ids[e.ActionID] = true
				if len(e.Value) > 2000 || len(e.ActionID) > 255 {
					return "invalid_blocks"
				}
			}
		}
	}
	return ""
}
