package web

import "net/http"

// roomRoutes registers the plan room's pages (web/room.go has the list) and the invitation
// pages (web/invite.go).
func (h *Handler) roomRoutes(m *http.ServeMux) {
	const plan = "/room/{plan}"
	const action = plan + "/actions/{action}"
	get := func(pattern string, fn roomFunc) { m.Handle("GET "+pattern, h.room(fn)) }
	post := func(pattern string, fn roomFunc) { m.Handle("POST "+pattern, h.room(fn)) }
	get(plan, h.roomPage)
	get(action, h.actionPage)
	get(plan+"/events", h.eventsPage)
	post(action, h.editAction)
	post(action+"/move", h.moveAction)
	post(action+"/steps", h.takeStep)
	post(action+"/details", h.setDetails)
	post(action+"/responses", h.recordResponses)
	post(action+"/subtasks", h.addSubTask)
	post(action+"/subtasks/{subtask}", h.tickSubTask)
	post(action+"/subtasks/{subtask}/remove", h.removeSubTask)
	post(action+"/attachments/{attachment}/remove", h.removeAttachment)
	post(plan+"/attachments/{attachment}/remove", h.removeAttachment)
	post(action+"/comments", h.addComment)
	post(action+"/attachments", h.addAttachment)
	post(action+"/remove", h.removeAction)
	post(action+"/type", h.changeType)
	post(plan+"/attachments", h.addAttachment)
	post(plan+"/phases", h.addPhase)
	post(plan+"/phases/{phase}", h.editPhase)
	post(plan+"/phases/{phase}/remove", h.removePhase)
	post(plan+"/phases/{phase}/actions", h.addAction)
	post(plan+"/invitations", h.invite)
	post(plan+"/invitations/{invitation}/revoke", h.revokeInvitation)
	post(plan+"/save-as-template", h.saveAsTemplate)
	post(plan+"/milestones/{milestone}", h.setMilestone)
	h.inviteRoutes(m)
}
