// etcd built from the Go module proxy, at the version the chosen Kubernetes release uses.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
