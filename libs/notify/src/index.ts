export {
  classifySendError,
  createMailer,
  notificationMessageId,
  notificationToken,
  PermanentSendError,
  SMTP_CONNECTIONS,
  type Mailer,
  type MailerOptions,
  type OutgoingEmail,
  type SendErrorClass,
} from './mailer';
export {
  renderTaskEmail,
  type EscalationLevel,
  type NotificationKind,
  type RenderedEmail,
  type RenderTaskEmailInput,
  type TaskEmailFacts,
  type TaskEmailPriority,
} from './templates';
