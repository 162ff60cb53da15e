// An OTLP/HTTP trace receiver for the tests: decodes each POST /v1/traces body as the official
// ExportTraceServiceRequest (go.opentelemetry.io/proto/otlp, generated from opentelemetry-proto),
// so what it reports is what any collector would have read, independent of the exporter that sent
// it. Prints "listening <port>", then one JSON line per span received; answers with an
// ExportTraceServiceResponse.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

type span struct {
	TraceID       string            `json:"traceId"`
	SpanID        string            `json:"spanId"`
	ParentSpanID  string            `json:"parentSpanId"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	StartUnixNano uint64            `json:"startUnixNano"`
	EndUnixNano   uint64            `json:"endUnixNano"`
	Attributes    map[string]string `json:"attributes"`
	StatusCode    string            `json:"statusCode"`
	StatusMessage string            `json:"statusMessage"`
	Service       string            `json:"service"`
}

func text(value *commonpb.AnyValue) string {
	switch v := value.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return v.StringValue
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(v.IntValue)
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(v.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return fmt.Sprint(v.DoubleValue)
	default:
		return value.String()
	}
}

func attributes(list []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range list {
		out[kv.GetKey()] = text(kv.GetValue())
	}
	return out
}

func main() {
	var mu sync.Mutex
	encoder := json.NewEncoder(os.Stdout)
	http.HandleFunc("/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want POST application/x-protobuf", http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var request coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &request); err != nil {
			fmt.Fprintf(os.Stderr, "not an ExportTraceServiceRequest: %v\n", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, resourceSpans := range request.GetResourceSpans() {
			service := attributes(resourceSpans.GetResource().GetAttributes())["service.name"]
			for _, scopeSpans := range resourceSpans.GetScopeSpans() {
				for _, s := range scopeSpans.GetSpans() {
					_ = encoder.Encode(span{
						TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()), ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
						Name: s.GetName(), Kind: s.GetKind().String(), StartUnixNano: s.GetStartTimeUnixNano(), EndUnixNano: s.GetEndTimeUnixNano(),
						Attributes: attributes(s.GetAttributes()), StatusCode: s.GetStatus().GetCode().String(), StatusMessage: s.GetStatus().GetMessage(), Service: service,
					})
				}
			}
		}
		mu.Unlock()
		response, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(response)
	})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %d\n", listener.Addr().(*net.TCPAddr).Port)
	fmt.Fprintln(os.Stderr, http.Serve(listener, nil))
}
