export {
  encodeCommand,
  encodeCommandText,
  encodeBulk,
  bulkText,
  asciiBulkText,
  arrayHeaderText,
  encodeSimpleString,
  encodeError,
  CommandEncoder,
  ENCODER_CHUNK,
  type CommandArg,
} from './encode.js';
export { RespDecoder, RespError, RespProtocolError, isRespError, type RespReply, type RespDecoderOptions, type ShallowHandler } from './decode.js';
export { ReplyCounter, ERROR_REPLY, type ReplyError, type CountedReply } from './counter.js';
export { RespPipeline, type ReplyHandler, type PipelineOptions, type Until } from './pipeline.js';
export { openPipeline, type OpenPipelineOptions } from './open.js';
export { RespClient, RespReplyError, type RespClientOptions } from './client.js';
