
Õ
demo/greeter.protodemo""
HelloRequest
name (	Rname"&

HelloReply
message (	Rmessage2;
Greeter0
SayHello.demo.HelloRequest.demo.HelloReplyB(
dev.protomatch.demo.v1BGreeterProtoPbproto3