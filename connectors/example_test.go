package connectors_test

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mapsync/mapsync/connectors"
)

func ExampleCheckInstanceURL() {
	for _, raw := range []string{"https://acme.my.salesforce.com", "https://acme.my.salesforce.com.evil.example", "http://127.0.0.1:8080"} {
		u, err := connectors.CheckInstanceURL(raw, connectors.InstancePolicy{})
		fmt.Println(u, err)
	}
	// Output:
	// https://acme.my.salesforce.com <nil>
	// <nil> auth FOREIGN_INSTANCE_URL: instance_url "https://acme.my.salesforce.com.evil.example" refused: not a host of the Salesforce REST API (want *.my.salesforce.com, *.sandbox.my.salesforce.com and the like, or an instance host such as na123.salesforce.com; set instance_hosts for another)
	// <nil> auth FOREIGN_INSTANCE_URL: instance_url "http://127.0.0.1:8080" refused: https is required
}

func ExampleClassifyResponse() {
	h := http.Header{"Retry-After": {"7"}}
	err := error(connectors.ClassifyResponse(connectors.CRMSalesforce, http.StatusServiceUnavailable, h,
		[]byte(`[{"message":"Server temporarily unavailable; please retry.","errorCode":"SERVER_UNAVAILABLE"}]`), time.Now()))
	var e *connectors.Error
	fmt.Println(errors.As(err, &e), e.Kind, connectors.IsRetryable(err), connectors.RetryAfter(err))
	// Output: true transient true 7s
}
