
Á
demo/greeter.protodemo""
HelloRequest
name (	Rname"&

HelloReply
message (	Rmessage2¦
Greeter0
SayHello.demo.HelloRequest.demo.HelloReply5
SayHelloAgain.demo.HelloRequest.demo.HelloReply2

SayGoodbye.demo.HelloRequest.demo.HelloReplyB(
dev.protomatch.demo.v3BGreeterProtoPbproto3