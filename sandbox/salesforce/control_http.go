package salesforce

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// controlHandler serves /__sandbox/ (the prefix is stripped). Bodies and replies are JSON;
// errors are {"error":"..."} with 400 (bad request or a change the CRM refuses) or 404.
//
//	GET    /                              credentials, URLs, record counts
//	GET    /counters                      request counters per endpoint, method and status
//	POST   /counters/reset
//	POST   /latency                       {"ms":50}
//	POST   /faults                        {"kind":"server_error|limit|slow|truncated|not_json|wrong_shape","count":3,"status":503,"delayMs":500,"endpoint":"query"}
//	                                      {"kind":"expire_tokens"} {"kind":"revoke_refresh_token"} {"kind":"restore_refresh_token"}
//	                                      {"kind":"fail_write","id":"006...","statusCode":"UNABLE_TO_LOCK_ROW","message":"..."}
//	DELETE /faults
//	POST   /limits                        {"used":99990,"max":100000}
//	POST   /validation-rules              {"object":"Opportunity","field":"MAP_Status__c","value":"Off Track","errorField":"MAP_Status__c","message":"..."}
//	DELETE /validation-rules
//	GET    /records/{object}              live ids, oldest first
//	POST   /records/{object}              {"fields":{...}} create as a person
//	GET    /records/{object}/{id}         every field
//	PATCH  /records/{object}/{id}         {"fields":{...}} change as a person
//	DELETE /records/{object}/{id}         delete as a person
//	       /deals, /deals/{id}            the same for Opportunity
//	POST   /mass-update                   {"object":"Opportunity","count":12000,"fields":{...}}
//	POST   /commit-lag                    {"object":"Opportunity","id":"006...","fields":{...},"stampBehindMs":60000,"hold":true,"visibleAfterMs":0}
//	POST   /commit-lag/release
//	GET    /outbound                      delivery statistics
//	POST   /outbound                      {"listenerUrl":"http://...","object":"Opportunity","rule":"stage_changed","fields":["Id","StageName"]}
//	DELETE /outbound
func (s *Sandbox) controlHandler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		counts := map[string]int{}
		s.mu.RLock()
		for _, o := range s.objects {
			n := 0
			for _, rec := range o.recs {
				if !rec.deleted {
					n++
				}
			}
			counts[o.name] = n
		}
		s.mu.RUnlock()
		base := baseURL(r)
		writeJSON(w, http.StatusOK, map[string]any{
			"instanceUrl": base, "loginUrl": base, "tokenUrl": base + "/services/oauth2/token",
			"clientId": ClientID, "clientSecret": ClientSecret, "refreshToken": RefreshToken,
			"username": Username, "password": Password, "orgId": s.orgID, "userId": s.userID, "records": counts,
		})
	})
	m.HandleFunc("GET /counters", func(w http.ResponseWriter, r *http.Request) {
		used, max := s.APIUsage()
		writeJSON(w, http.StatusOK, map[string]any{"total": s.Requests(""), "requests": s.Counters(),
			"apiUsage": map[string]int64{"used": used, "max": max}})
	})
	m.HandleFunc("POST /counters/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCounters()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	m.HandleFunc("POST /latency", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			MS int `json:"ms"`
		}
		if !readControl(w, r, &body) {
			return
		}
		s.SetLatency(time.Duration(body.MS) * time.Millisecond)
		writeJSON(w, http.StatusOK, map[string]int{"ms": body.MS})
	})
	m.HandleFunc("POST /faults", s.controlFault)
	m.HandleFunc("POST /validation-rules", s.controlValidationRules)
	m.HandleFunc("DELETE /validation-rules", s.controlValidationRules)
	m.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	m.HandleFunc("POST /limits", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Used int64 `json:"used"`
			Max  int64 `json:"max"`
		}
		if !readControl(w, r, &body) {
			return
		}
		s.SetAPIUsage(body.Used, body.Max)
		used, max := s.APIUsage()
		writeJSON(w, http.StatusOK, map[string]int64{"used": used, "max": max})
	})
	records := func(prefix, fixed string) {
		obj := func(r *http.Request) string {
			if fixed != "" {
				return fixed
			}
			return r.PathValue("object")
		}
		m.HandleFunc("GET "+prefix, func(w http.ResponseWriter, r *http.Request) {
			if _, err := s.objectByName(obj(r)); err != nil {
				controlError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"ids": s.IDs(obj(r))})
		})
		m.HandleFunc("POST "+prefix, func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Fields map[string]any `json:"fields"`
			}
			if !readControl(w, r, &body) {
				return
			}
			id, err := s.CreateRecord(obj(r), body.Fields)
			if err != nil {
				controlError(w, err)
				return
			}
			rec, _ := s.Record(obj(r), id)
			writeJSON(w, http.StatusCreated, rec)
		})
		m.HandleFunc("GET "+prefix+"/{id}", func(w http.ResponseWriter, r *http.Request) {
			rec, err := s.Record(obj(r), r.PathValue("id"))
			if err != nil {
				w.Header().Set("Content-Type", jsonType)
				writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, rec)
		})
		m.HandleFunc("PATCH "+prefix+"/{id}", func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Fields map[string]any `json:"fields"`
			}
			if !readControl(w, r, &body) {
				return
			}
			if err := s.UpdateRecord(obj(r), r.PathValue("id"), body.Fields); err != nil {
				controlError(w, err)
				return
			}
			rec, _ := s.Record(obj(r), r.PathValue("id"))
			writeJSON(w, http.StatusOK, rec)
		})
		m.HandleFunc("DELETE "+prefix+"/{id}", func(w http.ResponseWriter, r *http.Request) {
			if err := s.DeleteRecord(obj(r), r.PathValue("id")); err != nil {
				controlError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		})
	}
	records("/records/{object}", "")
	records("/deals", "Opportunity")
	m.HandleFunc("POST /mass-update", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Object string         `json:"object"`
			Count  int            `json:"count"`
			Fields map[string]any `json:"fields"`
		}
		if !readControl(w, r, &body) {
			return
		}
		if body.Object == "" {
			body.Object = "Opportunity"
		}
		res, err := s.MassUpdate(body.Object, body.Count, body.Fields)
		if err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
	m.HandleFunc("POST /commit-lag", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			LagChange
			StampBehindMS  int64 `json:"stampBehindMs"`
			VisibleAfterMS int64 `json:"visibleAfterMs"`
		}
		if !readControl(w, r, &body) {
			return
		}
		c := body.LagChange
		if c.Object == "" {
			c.Object = "Opportunity"
		}
		c.StampBehind = time.Duration(body.StampBehindMS) * time.Millisecond
		c.VisibleAfter = time.Duration(body.VisibleAfterMS) * time.Millisecond
		id, err := s.CommitLag(c)
		if err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": id, "held": c.Hold || c.VisibleAfter > 0})
	})
	m.HandleFunc("POST /commit-lag/release", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ids": s.ReleaseLagged()})
	})
	m.HandleFunc("GET /outbound", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.OutboundStats())
	})
	m.HandleFunc("POST /outbound", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			OutboundConfig
			RetryInitialMS int64 `json:"retryInitialMs"`
			RetryMaxMS     int64 `json:"retryMaxMs"`
		}
		if !readControl(w, r, &body) {
			return
		}
		c := body.OutboundConfig
		c.RetryInitial = time.Duration(body.RetryInitialMS) * time.Millisecond
		c.RetryMax = time.Duration(body.RetryMaxMS) * time.Millisecond
		if c.InstanceURL == "" {
			c.InstanceURL = baseURL(r)
		}
		id, err := s.ConfigureOutbound(c)
		if err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"actionId": id})
	})
	m.HandleFunc("DELETE /outbound", func(w http.ResponseWriter, r *http.Request) {
		s.StopOutbound()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control endpoint " + r.Method + " /__sandbox" + r.URL.Path})
	})
	return m
}

func (s *Sandbox) controlFault(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Fault
		DelayMS    int64  `json:"delayMs"`
		ID         string `json:"id"`
		StatusCode string `json:"statusCode"`
		Message    string `json:"message"`
	}
	if !readControl(w, r, &body) {
		return
	}
	var err error
	switch body.Kind {
	case "expire_tokens":
		s.ExpireTokens()
	case "revoke_refresh_token":
		s.RevokeRefreshToken()
	case "restore_refresh_token":
		s.RestoreRefreshToken()
	case "fail_write":
		err = s.FailNextWrite(body.ID, body.StatusCode, body.Message)
	default:
		f := body.Fault
		f.Delay = time.Duration(body.DelayMS) * time.Millisecond
		err = s.InjectFault(f)
	}
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			status = http.StatusNotFound
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"kind": string(body.Kind), "count": strconv.Itoa(max(body.Count, 1))})
}

func readControl(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeBody(r, v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad JSON body: " + err.Error()})
		return false
	}
	return true
}

func controlError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, ErrInvalid) {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
