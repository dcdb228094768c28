
â
demo/greeter.protodemo""
HelloRequest
name (	Rname"N
HelloAgainRequest#
greeting_name (	RgreetingName
times (Rtimes"&

HelloReply
message (	Rmessage2w
Greeter0
SayHello.demo.HelloRequest.demo.HelloReply:
SayHelloAgain.demo.HelloAgainRequest.demo.HelloReplyB)
dev.protomatch.demo.v2xBGreeterProtoPbproto3