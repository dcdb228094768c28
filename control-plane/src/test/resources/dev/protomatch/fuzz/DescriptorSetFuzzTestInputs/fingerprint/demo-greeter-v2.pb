
Œ
demo/greeter.protodemo""
HelloRequest
name (	Rname"&

HelloReply
message (	Rmessage2r
Greeter0
SayHello.demo.HelloRequest.demo.HelloReply5
SayHelloAgain.demo.HelloRequest.demo.HelloReplyB(
dev.protomatch.demo.v2BGreeterProtoPbproto3