// Command etcd is the stock etcd server (go.etcd.io/etcd/server/v3/etcdmain) built from the Go
// module proxy, because the Debian etcd is too old for current kube-apiservers.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
