
û
google/protobuf/duration.protogoogle.protobuf":
Duration
seconds (Rseconds
nanos (RnanosBƒ
com.google.protobufBDurationProtoPZ1google.golang.org/protobuf/types/known/durationpbø¢GPBªGoogle.Protobuf.WellKnownTypesbproto3
ÿ
google/protobuf/timestamp.protogoogle.protobuf";
	Timestamp
seconds (Rseconds
nanos (RnanosB…
com.google.protobufBTimestampProtoPZ2google.golang.org/protobuf/types/known/timestamppbø¢GPBªGoogle.Protobuf.WellKnownTypesbproto3
Ï
 protomatch/v1/registration.protoprotomatch.v1google/protobuf/duration.protogoogle/protobuf/timestamp.proto"Q
Locality
region (	Rregion
zone (	Rzone
sub_zone (	RsubZone"–
ServiceAdvertisement
name (	Rname
api_hash (	RapiHash
schema_hash (	R
schemaHash.
file_descriptor_set (RfileDescriptorSet"¸
Endpoint
host (	Rhost
port (Rport3
locality (2.protomatch.v1.LocalityRlocality;
labels (2#.protomatch.v1.Endpoint.LabelsEntryRlabels?
services u(2#.protomatch.v1.ServiceAdvertisementRservices
weight (Rweight9
LabelsEntry
key (	Rke‡íëìvalue (	Rvalue:8"s
RegisterRequest3
endpoint (2.protomatch.v1.EndpointRendpoint+
ttl (2.google.protobuf.DurationRttl"•
RegisterResponse
lease_id (	RleaseId+
ttl (2.google.protobuf.DurationRttl9

expires_at (2.google.protobuf.TimestampR	expiresAt"-
KeepAliveRequest
lease_id (	RleaseId"{
KeepAliveResponse+
ttl (2.google.protobuf.DurationRttl9

expires_at (2.google.protobuf.TimestampR	expiresAt".
DeregisterRequest
lease_id (	RleaseId"
DeregisterResponse2þ
RegistrationK
Register.protomatch.v1.RegisterRequest.protomatch.v1.RegisterResponseN
	KeepAlive.protomatch.v1.KeepAliveRequest .protomatch.v1.KeepAliveResponseQ

Deregister .protomatch.v1.DeregisterRequest!.protomatch.v1.DeregisterResponseB,
dev.protomatch.api.v1BRegistrationProtoPbproto3